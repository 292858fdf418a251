#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace medrelay::log {

// Named loggers, one per component, so levels can be set per component. Components: main, http,
// config, ice, dtls, srtp, rtp, turn, policy, audit, store, metrics.
std::shared_ptr<spdlog::logger> get(std::string_view component);

// kText: "2024-05-01T12:00:00.123456Z info  [main] message".
// kJson: one object per line: {"ts":"…Z","level":"info","component":"main","msg":"…"}, every
// string JSON-escaped (invalid UTF-8 becomes U+FFFD), so untrusted text cannot break a line.
enum class Format { kText, kJson };

std::optional<Format> parseFormat(std::string_view name);
// "trace", "debug", "info", "warn", "error", "critical", "off".
std::optional<spdlog::level::level_enum> parseLevel(std::string_view name);

// Configures every logger: level and format. Call at startup, before other threads log; loggers
// created before and after the call share the settings. Returns false (and changes nothing) for an
// unknown level name.
bool configure(std::string_view level, Format format);

// Replaces the sink every logger writes to (default: stderr). For tests and for a later file
// sink; nullptr restores stderr.
void setSink(spdlog::sink_ptr sink);

// Formats one record as a JSON line (exposed for tests and other sinks).
std::unique_ptr<spdlog::formatter> makeJsonFormatter();

// Structured context for MR_LOG_*_CTX: ids as separate fields, `"room":"…","session":"…"` in
// JSON (before "msg") and ` room=… session=…` after the message in text. Only these keys are
// kept: room, session, invite, role, reason, worker, transport — ids and bounded values, never
// tokens, names or addresses (other keys are dropped). Empty values are left out; control
// characters in values are dropped.
struct Field {
  std::string_view key;
  std::string_view value;
};
std::string context(std::initializer_list<Field> fields);

// At most `per_interval` lines per `interval` from one call site (for per-packet conditions,
// which must not flood the log), each written line telling how many were suppressed before it.
// Thread-safe and allocation-free; normally used through MR_LOG_RATE_LIMITED.
class RateLimitedLog {
 public:
  RateLimitedLog(uint32_t per_interval, std::chrono::milliseconds interval)
      : per_interval_(per_interval), interval_ns_(interval.count() * 1'000'000) {}

  // True when a line may be written at steady-clock time `now_ns`; then `*suppressed` is the
  // number of lines refused since the previous one written.
  bool allow(int64_t now_ns, uint64_t* suppressed);
  bool allow(uint64_t* suppressed);

 private:
  const uint32_t per_interval_;
  const int64_t interval_ns_;
  std::atomic<int64_t> window_start_ns_{INT64_MIN};
  std::atomic<uint64_t> in_window_{0};
  std::atomic<uint64_t> suppressed_{0};
};

}  // namespace medrelay::log

// Compile-time floor: trace is compiled out of release builds, so it costs nothing per packet.
#ifndef MEDRELAY_LOG_ACTIVE_LEVEL
#ifdef NDEBUG
#define MEDRELAY_LOG_ACTIVE_LEVEL SPDLOG_LEVEL_DEBUG
#else
#define MEDRELAY_LOG_ACTIVE_LEVEL SPDLOG_LEVEL_TRACE
#endif
#endif

#define MR_LOG_AT_(logger, lvl, ...) \
  (logger)->log(spdlog::source_loc{__FILE__, __LINE__, SPDLOG_FUNCTION}, lvl, __VA_ARGS__)

#if MEDRELAY_LOG_ACTIVE_LEVEL <= SPDLOG_LEVEL_TRACE
#define MR_LOG_TRACE(logger, ...) MR_LOG_AT_(logger, spdlog::level::trace, __VA_ARGS__)
#else
#define MR_LOG_TRACE(logger, ...) (void)0
#endif
#if MEDRELAY_LOG_ACTIVE_LEVEL <= SPDLOG_LEVEL_DEBUG
#define MR_LOG_DEBUG(logger, ...) MR_LOG_AT_(logger, spdlog::level::debug, __VA_ARGS__)
#else
#define MR_LOG_DEBUG(logger, ...) (void)0
#endif
#define MR_LOG_INFO(logger, ...) MR_LOG_AT_(logger, spdlog::level::info, __VA_ARGS__)
#define MR_LOG_WARN(logger, ...) MR_LOG_AT_(logger, spdlog::level::warn, __VA_ARGS__)
#define MR_LOG_ERROR(logger, ...) MR_LOG_AT_(logger, spdlog::level::err, __VA_ARGS__)
#define MR_LOG_CRITICAL(logger, ...) MR_LOG_AT_(logger, spdlog::level::critical, __VA_ARGS__)

// With context fields: MR_LOG_INFO_CTX(logger, log::context({{"room", id}}), "joined {}", x).
#define MR_LOG_CTX_AT_(logger, lvl, ctx, fmt, ...) \
  MR_LOG_AT_(logger, lvl, "{}" fmt, ctx __VA_OPT__(, ) __VA_ARGS__)
#define MR_LOG_DEBUG_CTX(logger, ctx, fmt, ...) \
  MR_LOG_CTX_AT_(logger, spdlog::level::debug, ctx, fmt __VA_OPT__(, ) __VA_ARGS__)
#define MR_LOG_INFO_CTX(logger, ctx, fmt, ...) \
  MR_LOG_CTX_AT_(logger, spdlog::level::info, ctx, fmt __VA_OPT__(, ) __VA_ARGS__)
#define MR_LOG_WARN_CTX(logger, ctx, fmt, ...) \
  MR_LOG_CTX_AT_(logger, spdlog::level::warn, ctx, fmt __VA_OPT__(, ) __VA_ARGS__)
#define MR_LOG_ERROR_CTX(logger, ctx, fmt, ...) \
  MR_LOG_CTX_AT_(logger, spdlog::level::err, ctx, fmt __VA_OPT__(, ) __VA_ARGS__)

// Rate-limited per call site: MR_LOG_RATE_LIMITED(logger, spdlog::level::warn, 5, 1000,
// "SRTP auth failed on worker {}", w). `fmt` must be a string literal.
#define MR_LOG_RATE_LIMITED(logger, lvl, per_interval, interval_ms, fmt, ...)                      \
  do {                                                                                             \
    static ::medrelay::log::RateLimitedLog mr_rate_limit_{(per_interval),                          \
                                                          std::chrono::milliseconds(interval_ms)}; \
    uint64_t mr_suppressed_ = 0;                                                                   \
    if ((logger)->should_log(lvl) && mr_rate_limit_.allow(&mr_suppressed_)) {                      \
      MR_LOG_AT_(logger, lvl, fmt " ({} similar lines suppressed)" __VA_OPT__(, ) __VA_ARGS__,     \
                 mr_suppressed_);                                                                  \
    }                                                                                              \
  } while (false)
