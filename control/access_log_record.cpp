#include "control/access_log_record.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "common/assert.h"
#include "common/c_ptr.h"

namespace medrelay::control {
namespace {

constexpr std::array<std::string_view, 20> kEventNames = {
    "room_created",       "room_edited",        "room_cancelled",   "invite_issued",
    "invite_revoked",     "participant_joined", "participant_left", "consultation_started",
    "consultation_ended", "join_refused",       "api_auth_failed",  "clock_sync",
    "key_rotated",        "log_opened",         "file_linked",      "log_reopened",
    "log_recovered",      "chain_restarted",    "files_pruned",     "io_recovered"};

constexpr std::array<std::string_view, 12> kEndReasons = {
    "hangup",   "consent-timeout", "ice-failed",     "dtls-failed",
    "revoked",  "cancelled",       "window-closed",  "kicked",
    "takeover", "server-shutdown", "server-restart", "superseded"};

constexpr size_t kMaxFieldBytes = 256;
constexpr size_t kMaxDetailBytes = 4096;
constexpr int64_t kMaxSafeInteger = (int64_t{1} << 53) - 1;  // RFC 8785 §3.2.2.3: exact in IEEE 754
constexpr int64_t kUsPerSecond = 1000000;

// Howard Hinnant's days-from-civil: proleptic Gregorian date to days since 1970-01-01.
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2 ? 1 : 0;
}

bool digits(std::string_view s, size_t pos, size_t n, int64_t& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

std::optional<int64_t> parseTimeImpl(std::string_view s, bool strict) {
  int64_t y, mo, d, h = 0, mi = 0, se = 0, frac = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d)) {
    return std::nullopt;
  }
  size_t pos = 10;
  if (s.size() == 10) {
    if (strict) return std::nullopt;
  } else {
    if (s.size() < 20 || s[10] != 'T' || !digits(s, 11, 2, h) || s[13] != ':' ||
        !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, se)) {
      return std::nullopt;
    }
    pos = 19;
    if (s[pos] == '.') {
      size_t n = 0;
      ++pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (n < 6) frac = frac * 10 + (s[pos] - '0');
        ++n;
        ++pos;
      }
      if (n == 0 || (strict && n != 6)) return std::nullopt;
      for (size_t k = n; k < 6; ++k) frac *= 10;
    } else if (strict) {
      return std::nullopt;
    }
    if (pos + 1 != s.size() || s[pos] != 'Z') return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) return std::nullopt;
  const int64_t days = daysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t cy;
  unsigned cm, cd;
  civilFromDays(days, cy, cm, cd);
  if (cy != y || cm != mo || cd != d) return std::nullopt;  // e.g. February 30
  return ((days * 24 + h) * 60 + mi) * 60 * kUsPerSecond + se * kUsPerSecond + frac;
}

// RFC 8785 §3.2.2.2: ECMAScript JSON.stringify string escaping.
void appendEscaped(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

bool appendCanonical(std::string& out, const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::null:
      out += "null";
      return true;
    case nlohmann::json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      return true;
    case nlohmann::json::value_t::number_integer: {
      const auto n = v.get<int64_t>();
      if (n > kMaxSafeInteger || n < -kMaxSafeInteger) return false;
      out += std::to_string(n);
      return true;
    }
    case nlohmann::json::value_t::number_unsigned: {
      const auto n = v.get<uint64_t>();
      if (n > static_cast<uint64_t>(kMaxSafeInteger)) return false;
      out += std::to_string(n);
      return true;
    }
    case nlohmann::json::value_t::string:
      appendEscaped(out, v.get_ref<const std::string&>());
      return true;
    case nlohmann::json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ',';
        first = false;
        if (!appendCanonical(out, e)) return false;
      }
      out += ']';
      return true;
    }
    case nlohmann::json::value_t::object: {
      // nlohmann's object_t is a std::map<std::string>: iteration is in unsigned byte order,
      // which equals RFC 8785 §3.2.3 UTF-16 order for the ASCII keys we allow.
      out += '{';
      bool first = true;
      for (const auto& [k, e] : v.items()) {
        if (!first) out += ',';
        first = false;
        appendEscaped(out, k);
        out += ':';
        if (!appendCanonical(out, e)) return false;
      }
      out += '}';
      return true;
    }
    default:
      return false;  // floats, binary, discarded
  }
}

bool validUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else
      return false;
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

bool validDetail(const nlohmann::json& v, int depth) {
  if (depth > 4) return false;
  if (v.is_number_float() || v.is_binary()) return false;
  if (v.is_string()) return validUtf8(v.get_ref<const std::string&>());
  if (v.is_array()) {
    return std::all_of(v.begin(), v.end(),
                       [&](const auto& e) { return validDetail(e, depth + 1); });
  }
  if (v.is_object()) {
    for (const auto& [k, e] : v.items()) {
      if (k.empty() || k.size() > 64) return false;
      for (const char c : k) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
      }
      if (!validDetail(e, depth + 1)) return false;
    }
  }
  return true;
}

struct StringField {
  const char* name;
  std::string AccessRecord::*member;
};
constexpr std::array<StringField, 12> kStringFields = {{
    {"invite", &AccessRecord::invite},
    {"key_id", &AccessRecord::key_id},
    {"mac", &AccessRecord::mac},
    {"node", &AccessRecord::node},
    {"prev_mac", &AccessRecord::prev_mac},
    {"reason", &AccessRecord::reason},
    {"remote", &AccessRecord::remote},
    {"role", &AccessRecord::role},
    {"room", &AccessRecord::room},
    {"session", &AccessRecord::session},
    {"subject", &AccessRecord::subject},
    {"transport", &AccessRecord::transport},
}};

}  // namespace

std::string_view toString(AccessEvent event) {
  const auto i = static_cast<size_t>(event);
  MEDRELAY_ASSERT(i < kEventNames.size(), "unknown access event");
  return kEventNames[i];
}

std::optional<AccessEvent> parseAccessEvent(std::string_view name) {
  for (size_t i = 0; i < kEventNames.size(); ++i) {
    if (kEventNames[i] == name) return static_cast<AccessEvent>(i);
  }
  return std::nullopt;
}

bool isEndReason(std::string_view reason) {
  return std::find(kEndReasons.begin(), kEndReasons.end(), reason) != kEndReasons.end();
}

std::string formatTime(int64_t time_us) {
  int64_t secs = time_us / kUsPerSecond;
  int64_t frac = time_us % kUsPerSecond;
  if (frac < 0) {
    frac += kUsPerSecond;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  civilFromDays(days, y, m, d);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60),
                static_cast<long long>(frac));
  return buf;
}

std::optional<int64_t> parseTime(std::string_view text) {
  return parseTimeImpl(text, true);
}
std::optional<int64_t> parseTimeLoose(std::string_view text) {
  return parseTimeImpl(text, false);
}

std::optional<std::string> canonicalJson(const nlohmann::json& value) {
  std::string out;
  if (!appendCanonical(out, value)) return std::nullopt;
  return out;
}

nlohmann::json toJson(const AccessRecord& r, bool with_mac) {
  nlohmann::json j = nlohmann::json::object();
  j["seq"] = r.seq;
  j["time"] = formatTime(r.time_us);
  j["event"] = std::string(toString(r.event));
  for (const auto& f : kStringFields) {
    const std::string& v = r.*f.member;
    if (!v.empty()) j[f.name] = v;
  }
  if (!with_mac) j.erase("mac");
  if (r.detail.is_object() && !r.detail.empty()) j["detail"] = r.detail;
  return j;
}

std::string canonicalBody(const AccessRecord& record) {
  auto s = canonicalJson(toJson(record, false));
  MEDRELAY_ASSERT(s.has_value(), "record not canonicalisable (validateForAppend skipped?)");
  return std::move(*s);
}

std::string toLine(const AccessRecord& record) {
  auto s = canonicalJson(toJson(record, true));
  MEDRELAY_ASSERT(s.has_value(), "record not canonicalisable (validateForAppend skipped?)");
  return std::move(*s);
}

Result<AccessRecord> parseLine(std::string_view line) {
  auto j = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return makeError("unparsable", "not a JSON object");
  AccessRecord r;
  for (const auto& [k, v] : j.items()) {
    if (k == "seq") {
      if (!v.is_number_unsigned()) return makeError("unparsable", "seq is not an unsigned integer");
      r.seq = v.get<uint64_t>();
    } else if (k == "time") {
      auto t = v.is_string() ? parseTime(v.get_ref<const std::string&>()) : std::nullopt;
      if (!t) return makeError("unparsable", "time is not RFC 3339 UTC with microseconds");
      r.time_us = *t;
    } else if (k == "event") {
      auto e = v.is_string() ? parseAccessEvent(v.get_ref<const std::string&>()) : std::nullopt;
      if (!e) return makeError("unparsable", "unknown event");
      r.event = *e;
    } else if (k == "detail") {
      if (!v.is_object()) return makeError("unparsable", "detail is not an object");
      r.detail = v;
    } else {
      const std::string& field = k;  // structured bindings cannot be captured (clang 14)
      auto f = std::find_if(kStringFields.begin(), kStringFields.end(),
                            [&field](const StringField& sf) { return field == sf.name; });
      if (f == kStringFields.end()) return makeError("unparsable", "unknown field " + k);
      if (!v.is_string()) return makeError("unparsable", "field " + k + " is not a string");
      r.*(f->member) = v.get<std::string>();
    }
  }
  if (!j.contains("seq") || !j.contains("time") || !j.contains("event") || r.mac.empty() ||
      r.prev_mac.empty() || r.key_id.empty()) {
    return makeError("unparsable", "missing seq, time, event, key_id, prev_mac or mac");
  }
  auto canon = canonicalJson(j);
  if (!canon || *canon != line) {
    return makeError("non_canonical", "line is not in canonical form");
  }
  return r;
}

Result<void> validateForAppend(const AccessRecord& r) {
  for (const auto& f : kStringFields) {
    const std::string& v = r.*f.member;
    if (v.size() > kMaxFieldBytes || !validUtf8(v)) {
      return makeError("invalid_record", std::string("field ") + f.name + " too long or not UTF-8");
    }
  }
  if (!r.detail.is_null()) {
    if (!r.detail.is_object() || !validDetail(r.detail, 0)) {
      return makeError("invalid_record", "detail must be an object of ASCII keys, no floats");
    }
    auto s = canonicalJson(r.detail);
    if (!s || s->size() > kMaxDetailBytes) return makeError("invalid_record", "detail too large");
  }
  return {};
}

Mac computeMac(std::span<const uint8_t> key, const Mac& prev, std::string_view body) {
  using MacPtr = CPtr<EVP_MAC, EVP_MAC_free>;
  using CtxPtr = CPtr<EVP_MAC_CTX, EVP_MAC_CTX_free>;
  static MacPtr hmac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  MEDRELAY_ASSERT(hmac != nullptr, "EVP_MAC_fetch(HMAC)");
  CtxPtr ctx(EVP_MAC_CTX_new(hmac.get()));
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  Mac out{};
  size_t len = 0;
  const bool ok =
      ctx != nullptr && EVP_MAC_init(ctx.get(), key.data(), key.size(), params) == 1 &&
      EVP_MAC_update(ctx.get(), prev.data(), prev.size()) == 1 &&
      EVP_MAC_update(ctx.get(), reinterpret_cast<const uint8_t*>(body.data()), body.size()) == 1 &&
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) == 1;
  MEDRELAY_ASSERT(ok && len == out.size(), "HMAC-SHA256 failed");
  return out;
}

std::string toHex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::optional<Mac> macFromHex(std::string_view hex) {
  if (hex.size() != kMacBytes * 2) return std::nullopt;
  Mac out{};
  for (size_t i = 0; i < kMacBytes; ++i) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    const int hi = nib(hex[2 * i]);
    const int lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return out;
}

}  // namespace medrelay::control
