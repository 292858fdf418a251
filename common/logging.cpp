#include "common/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <array>
#include <ctime>
#include <mutex>

namespace medrelay::log {
namespace {

constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%fZ %-5l [%n] %v";

std::mutex g_mutex;
spdlog::level::level_enum g_level = spdlog::level::info;
Format g_format = Format::kText;
spdlog::sink_ptr g_sink;  // shared by every logger; guarded by g_mutex

std::unique_ptr<spdlog::formatter> makeFormatter(Format format);

spdlog::sink_ptr currentSink() {
  if (!g_sink) {
    g_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    g_sink->set_formatter(makeFormatter(g_format));
  }
  return g_sink;
}

void append(spdlog::memory_buf_t& dest, std::string_view s) {
  dest.append(s.data(), s.data() + s.size());
}

// Length of the valid UTF-8 sequence starting at s[i] (RFC 3629 section 4), 0 if invalid.
size_t utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned char c = b(i);
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(i + 1) > 0x9F) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(i + 1) > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// A JSON string body (RFC 8259 section 7): quotes, backslashes and control characters escaped.
void appendJsonEscaped(spdlog::memory_buf_t& dest, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = utf8SequenceLength(s, i);
      if (n == 0) {
        append(dest, "\\ufffd");
        ++i;
      } else {
        append(dest, s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        append(dest, "\\\"");
        break;
      case '\\':
        append(dest, "\\\\");
        break;
      case '\n':
        append(dest, "\\n");
        break;
      case '\r':
        append(dest, "\\r");
        break;
      case '\t':
        append(dest, "\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
          dest.append(esc, esc + 6);
        } else {
          dest.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
}

// The names log.level accepts ("warn", not spdlog's "warning").
std::string_view levelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

constexpr char kCtxMark = '\x1d';  // starts and ends the context block
constexpr char kCtxKeyEnd = '\x1f';
constexpr char kCtxFieldEnd = '\x1e';
constexpr std::array<std::string_view, 7> kCtxKeys = {"room",   "session", "invite",   "role",
                                                      "reason", "worker",  "transport"};

bool knownKey(std::string_view key) {
  for (auto k : kCtxKeys) {
    if (k == key) return true;
  }
  return false;
}

// A payload made by MR_LOG_*_CTX: its fields and the message after them.
struct Parsed {
  std::array<Field, kCtxKeys.size()> fields{};
  size_t count = 0;
  std::string_view message;
};

Parsed parsePayload(std::string_view payload) {
  Parsed p;
  p.message = payload;
  if (payload.size() < 2 || payload.front() != kCtxMark) return p;
  const size_t end = payload.find(kCtxMark, 1);
  if (end == std::string_view::npos) return p;
  std::string_view block = payload.substr(1, end - 1);
  while (!block.empty() && p.count < p.fields.size()) {
    const size_t fe = block.find(kCtxFieldEnd);
    const std::string_view field = block.substr(0, fe);
    const size_t ke = field.find(kCtxKeyEnd);
    if (ke != std::string_view::npos && knownKey(field.substr(0, ke))) {
      p.fields[p.count++] = Field{field.substr(0, ke), field.substr(ke + 1)};
    }
    if (fe == std::string_view::npos) break;
    block.remove_prefix(fe + 1);
  }
  p.message = payload.substr(end + 1);
  return p;
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using std::chrono::duration_cast;
    using std::chrono::microseconds;
    using std::chrono::seconds;
    auto since_epoch = msg.time.time_since_epoch();
    auto secs = duration_cast<seconds>(since_epoch);
    auto micros = duration_cast<microseconds>(since_epoch - secs).count();
    std::time_t t = secs.count();
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::array<char, 48> ts{};
    int n = std::snprintf(ts.data(), ts.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                          tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                          tm.tm_sec, static_cast<int>(micros));
    append(dest, R"({"ts":")");
    dest.append(ts.data(), ts.data() + n);
    append(dest, R"(","level":")");
    append(dest, levelName(msg.level));
    append(dest, R"(","component":")");
    appendJsonEscaped(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    const Parsed parsed = parsePayload(std::string_view(msg.payload.data(), msg.payload.size()));
    for (size_t i = 0; i < parsed.count; ++i) {
      append(dest, "\",\"");
      appendJsonEscaped(dest, parsed.fields[i].key);
      append(dest, "\":\"");
      appendJsonEscaped(dest, parsed.fields[i].value);
    }
    append(dest, R"(","msg":")");
    appendJsonEscaped(dest, parsed.message);
    append(dest, "\"}\n");
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// The text pattern, with context fields moved after the message as key=value.
class TextFormatter final : public spdlog::formatter {
 public:
  TextFormatter()
      : pattern_(std::make_unique<spdlog::pattern_formatter>(kTextPattern,
                                                             spdlog::pattern_time_type::utc)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    const Parsed parsed = parsePayload(payload);
    if (parsed.message.size() == payload.size()) {
      pattern_->format(msg, dest);
      return;
    }
    std::string text(parsed.message);
    for (size_t i = 0; i < parsed.count; ++i) {
      text += ' ';
      text += parsed.fields[i].key;
      text += '=';
      text += parsed.fields[i].value;
    }
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(text.data(), text.size());
    pattern_->format(copy, dest);
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<TextFormatter>();
  }

 private:
  std::unique_ptr<spdlog::formatter> pattern_;
};

std::unique_ptr<spdlog::formatter> makeFormatter(Format format) {
  if (format == Format::kJson) return std::make_unique<JsonFormatter>();
  return std::make_unique<TextFormatter>();
}

// Called with g_mutex held. All loggers share one sink, so its formatter is set once. Swapping a
// logger's sink is not atomic: configure()/setSink() run before other threads log.
void applyAll() {
  auto sink = currentSink();
  sink->set_formatter(makeFormatter(g_format));
  sink->set_level(spdlog::level::trace);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    l->sinks().assign(1, sink);
    l->set_level(g_level);
  });
}

}  // namespace

std::optional<Format> parseFormat(std::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  return std::nullopt;
}

std::optional<spdlog::level::level_enum> parseLevel(std::string_view name) {
  using L = spdlog::level::level_enum;
  static constexpr std::pair<std::string_view, L> kLevels[] = {
      {"trace", L::trace}, {"debug", L::debug},       {"info", L::info}, {"warn", L::warn},
      {"error", L::err},   {"critical", L::critical}, {"off", L::off}};
  for (const auto& [n, l] : kLevels) {
    if (n == name) return l;
  }
  return std::nullopt;
}

std::shared_ptr<spdlog::logger> get(std::string_view component) {
  std::lock_guard lock(g_mutex);
  std::string name(component);
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = std::make_shared<spdlog::logger>(name, currentSink());
  logger->set_level(g_level);
  spdlog::register_logger(logger);
  return logger;
}

bool configure(std::string_view level, Format format) {
  auto lvl = parseLevel(level);
  if (!lvl) return false;
  std::lock_guard lock(g_mutex);
  g_level = *lvl;
  g_format = format;
  applyAll();
  return true;
}

void setSink(spdlog::sink_ptr sink) {
  std::lock_guard lock(g_mutex);
  g_sink = std::move(sink);
  applyAll();
}

std::unique_ptr<spdlog::formatter> makeJsonFormatter() {
  return std::make_unique<JsonFormatter>();
}

std::string context(std::initializer_list<Field> fields) {
  std::string out(1, kCtxMark);
  for (const Field& f : fields) {
    if (!knownKey(f.key) || f.value.empty()) continue;
    out += f.key;
    out += kCtxKeyEnd;
    for (char c : f.value) {
      if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7F) out += c;
    }
    out += kCtxFieldEnd;
  }
  out += kCtxMark;
  return out;
}

bool RateLimitedLog::allow(int64_t now_ns, uint64_t* suppressed) {
  int64_t start = window_start_ns_.load(std::memory_order_relaxed);
  if (start == INT64_MIN || now_ns - start >= interval_ns_) {
    // A new window; of racing threads one resets it, the others count in the new one.
    if (window_start_ns_.compare_exchange_strong(start, now_ns, std::memory_order_relaxed)) {
      in_window_.store(0, std::memory_order_relaxed);
    }
  }
  if (in_window_.fetch_add(1, std::memory_order_relaxed) < per_interval_) {
    *suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
    return true;
  }
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool RateLimitedLog::allow(uint64_t* suppressed) {
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  return allow(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count(), suppressed);
}

}  // namespace medrelay::log
