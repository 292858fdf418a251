#include "control/consultation_requests.h"

#include <array>
#include <charconv>

#include "control/access_log_record.h"

namespace medrelay::control {
namespace {

using nlohmann::json;

constexpr int64_t kUsPerSecond = 1'000'000;
// Times outside [2000-01-01, 2100-01-01) are refused: no consultation is booked there, and the
// window arithmetic stays far from overflow.
constexpr int64_t kMinTimeUs = 946'684'800ll * kUsPerSecond;
constexpr int64_t kMaxTimeUs = 4'102'444'800ll * kUsPerSecond;
constexpr size_t kMaxFilterLimit = 500;

Error fieldError(std::string code, std::string_view field, std::string_view why) {
  return makeError(std::move(code), std::string(field) + ": " + std::string(why));
}
Error invalid(std::string_view field, std::string_view why) {
  return fieldError("invalid_field", field, why);
}

bool validUtf8NoControls(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return false;
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp < 0xA0)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// Checks that `body` is an object whose keys are all in `known` (the rest → unknown_field).
Result<void> checkObject(const json& body, std::string_view what,
                         std::initializer_list<std::string_view> known) {
  if (!body.is_object()) return makeError("invalid_json", std::string(what) + " is not an object");
  for (const auto& [key, value] : body.items()) {
    bool found = false;
    for (auto k : known) found = found || k == key;
    if (!found) {
      // Never echo an arbitrary key back in full.
      return fieldError("unknown_field", key.substr(0, 64), "not a known field");
    }
  }
  return {};
}

Result<std::string> getString(const json& body, std::string_view field, bool required) {
  auto it = body.find(std::string(field));
  if (it == body.end() || it->is_null()) {
    if (required) return fieldError("missing_field", field, "required");
    return std::string();
  }
  if (!it->is_string()) return invalid(field, "must be a string");
  return it->get<std::string>();
}

Result<std::optional<int64_t>> getTime(const json& body, std::string_view field) {
  auto s = getString(body, field, false);
  if (!s.ok()) return s.error();
  if (s->empty()) return std::optional<int64_t>();
  auto t = parseRfc3339(*s);
  if (!t) return invalid(field, "not an RFC 3339 date-time between 2000 and 2100");
  return std::optional<int64_t>(*t);
}

Result<std::string> getText(const json& body, std::string_view field, size_t max, bool required) {
  auto s = getString(body, field, required);
  if (!s.ok()) return s;
  if (auto v = validateText(field, *s, max, required); !v.ok()) return v.error();
  return s;
}

Result<std::string> getId(const json& body, std::string_view field) {
  auto s = getString(body, field, true);
  if (!s.ok()) return s;
  if (auto v = validateId(field, *s); !v.ok()) return v.error();
  return s;
}

Result<ConsentRecord> parseConsent(const json& body) {
  if (!body.is_object()) return invalid("consent", "must be an object");
  for (const auto& [key, value] : body.items()) {
    if (key != "given_by" && key != "given_at" && key != "role") {
      return fieldError("unknown_field", "consent." + key.substr(0, 64), "not a known field");
    }
  }
  ConsentRecord c;
  auto by = getString(body, "given_by", true);
  if (!by.ok()) return fieldError(by.error().code, "consent.given_by", "required string");
  if (auto v = validateId("consent.given_by", *by); !v.ok()) return v.error();
  c.given_by = *by;
  auto at = getTime(body, "given_at");
  if (!at.ok()) return invalid("consent.given_at", "not an RFC 3339 date-time");
  if (!at->has_value()) return fieldError("missing_field", "consent.given_at", "required");
  c.given_at_us = **at;
  auto role = getString(body, "role", true);
  if (!role.ok()) return fieldError(role.error().code, "consent.role", "required string");
  auto r = parseRole(*role);
  if (!r) return invalid("consent.role", "not a role");
  c.role = *r;
  return c;
}

}  // namespace

std::optional<int64_t> parseRfc3339(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM); RFC 3339 §5.6 allows lowercase t and z.
  if (text.size() < 20 || text.size() > 64) return std::nullopt;
  std::string s(text);
  if (s[10] == 't') s[10] = 'T';
  if (s[10] != 'T') return std::nullopt;
  int64_t offset_us = 0;
  if (s.back() == 'z' || s.back() == 'Z') {
    s.back() = 'Z';
  } else {
    const size_t p = s.size() - 6;
    if (p < 19 || (s[p] != '+' && s[p] != '-') || s[p + 3] != ':') return std::nullopt;
    int oh = 0, om = 0;
    const char* b = s.data() + p + 1;
    if (std::from_chars(b, b + 2, oh).ptr != b + 2 ||
        std::from_chars(b + 3, b + 5, om).ptr != b + 5 || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_us = (oh * 60 + om) * 60 * kUsPerSecond * (s[p] == '-' ? -1 : 1);
    s.resize(p);
    s += 'Z';
  }
  auto t = parseTimeLoose(s);
  if (!t || s.size() < 20) return std::nullopt;  // date-only forms are not date-times
  const int64_t utc = *t - offset_us;
  if (utc < kMinTimeUs || utc >= kMaxTimeUs) return std::nullopt;
  return utc;
}

Result<void> validateId(std::string_view field, std::string_view value) {
  if (value.empty()) return invalid(field, "must not be empty");
  if (value.size() > kMaxIdBytes) return invalid(field, "too long");
  for (const char c : value) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '@' || c == '~' || c == '-';
    if (!ok) return invalid(field, "only letters, digits and . _ : @ ~ - are allowed");
  }
  return {};
}

Result<void> validateText(std::string_view field, std::string_view value, size_t max_bytes,
                          bool required) {
  if (required && value.empty()) return invalid(field, "must not be empty");
  if (value.size() > max_bytes) {
    return invalid(field, "too long (at most " + std::to_string(max_bytes) + " bytes)");
  }
  if (!validUtf8NoControls(value))
    return invalid(field, "not UTF-8 text without control characters");
  return {};
}

std::string errorField(const Error& error) {
  const size_t colon = error.message.find(": ");
  return colon == std::string::npos ? std::string() : error.message.substr(0, colon);
}

Result<CreateRoomRequest> parseCreateRoom(const json& body) {
  if (auto r = checkObject(body, "body",
                           {"mode", "scheduled_start", "opens_at", "closes_at", "institution_id",
                            "institution_contact", "doctor_display_name", "title", "external_ref"});
      !r.ok()) {
    return r.error();
  }
  CreateRoomRequest req;
  auto mode = getString(body, "mode", true);
  if (!mode.ok()) return mode.error();
  auto m = parseRoomMode(*mode);
  if (!m) return invalid("mode", "must be d2p, d2p_with_n or d2p_with_d");
  req.mode = *m;

  auto start = getString(body, "scheduled_start", true);
  if (!start.ok()) return start.error();
  if (*start != "now") {
    auto t = parseRfc3339(*start);
    if (!t)
      return invalid("scheduled_start", "not \"now\" nor an RFC 3339 date-time in 2000..2099");
    req.scheduled_start_us = *t;
  }
  auto opens = getTime(body, "opens_at");
  if (!opens.ok()) return opens.error();
  req.opens_at_us = *opens;
  auto closes = getTime(body, "closes_at");
  if (!closes.ok()) return closes.error();
  req.closes_at_us = *closes;
  if (req.opens_at_us && req.closes_at_us && *req.opens_at_us >= *req.closes_at_us) {
    return invalid("closes_at", "must be after opens_at");
  }
  if (req.opens_at_us && req.closes_at_us && *req.closes_at_us - *req.opens_at_us > kMaxWindowUs) {
    return invalid("closes_at", "the window is longer than 31 days");
  }

  auto inst = getId(body, "institution_id");
  if (!inst.ok()) return inst.error();
  req.institution_id = *inst;
  auto contact = getText(body, "institution_contact", kMaxContactBytes, true);
  if (!contact.ok()) return contact.error();
  req.institution_contact = *contact;
  auto doctor = getText(body, "doctor_display_name", kMaxNameBytes, true);
  if (!doctor.ok()) return doctor.error();
  req.doctor_display_name = *doctor;
  auto title = getText(body, "title", kMaxTitleBytes, false);
  if (!title.ok()) return title.error();
  req.title = *title;
  auto ref = getText(body, "external_ref", kMaxExternalRefBytes, false);
  if (!ref.ok()) return ref.error();
  req.external_ref = *ref;
  return req;
}

Result<PatchRoomRequest> parsePatchRoom(const json& body) {
  if (!body.is_object()) return makeError("invalid_json", "body is not an object");
  for (const auto& [key, value] : body.items()) {
    if (key == "scheduled_start" || key == "opens_at" || key == "closes_at") {
      return fieldError("start_time_immutable", key,
                        "the start time and window cannot change: cancel and create again");
    }
    if (key == "mode" || key == "institution_id" || key == "institution_contact" ||
        key == "external_ref") {
      return fieldError("field_immutable", key, "cannot change after creation");
    }
  }
  if (auto r = checkObject(body, "body", {"title", "doctor_display_name"}); !r.ok()) {
    return r.error();
  }
  PatchRoomRequest req;
  if (body.contains("title")) {
    auto t = getText(body, "title", kMaxTitleBytes, false);
    if (!t.ok()) return t.error();
    req.title = *t;
  }
  if (body.contains("doctor_display_name")) {
    auto d = getText(body, "doctor_display_name", kMaxNameBytes, true);
    if (!d.ok()) return d.error();
    req.doctor_display_name = *d;
  }
  if (!req.title && !req.doctor_display_name) {
    return fieldError("missing_field", "title", "nothing to change (title, doctor_display_name)");
  }
  return req;
}

Result<CreateInviteRequest> parseCreateInvite(const json& body) {
  if (auto r = checkObject(body, "body", {"role", "subject", "consent"}); !r.ok()) return r.error();
  CreateInviteRequest req;
  auto role = getString(body, "role", true);
  if (!role.ok()) return role.error();
  auto r = parseRole(*role);
  if (!r) return invalid("role", "must be doctor, patient, nurse, attending_doctor or supporter");
  req.role = *r;
  auto subject = getId(body, "subject");
  if (!subject.ok()) return subject.error();
  req.subject = *subject;
  if (auto it = body.find("consent"); it != body.end() && !it->is_null()) {
    auto c = parseConsent(*it);
    if (!c.ok()) return c.error();
    if (c->role != req.role) return invalid("consent.role", "does not match the invite's role");
    req.consent = *c;
  }
  return req;
}

Result<RoomFilter> parseRoomFilter(const std::map<std::string, std::string>& query) {
  RoomFilter f;
  for (const auto& [key, value] : query) {
    if (key == "state") {
      f.state = parseRoomState(value);
      if (!f.state) return invalid("state", "not a room state");
    } else if (key == "from" || key == "to") {
      auto t = parseRfc3339(value);
      if (!t) return invalid(key, "not an RFC 3339 date-time");
      (key == "from" ? f.from_us : f.to_us) = *t;
    } else if (key == "cursor") {
      if (value.size() > 200) return invalid("cursor", "too long");
      f.cursor = value;
    } else if (key == "limit") {
      size_t n = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || ptr != value.data() + value.size() || n == 0 ||
          n > kMaxFilterLimit) {
        return invalid("limit", "must be an integer 1..500");
      }
      f.limit = n;
    } else {
      return fieldError("unknown_field", key.substr(0, 64), "not a known query parameter");
    }
  }
  return f;
}

}  // namespace medrelay::control
