#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string_view>

namespace medrelay::log {

// Named loggers, one per component (house style 7). Components: main, http, config, ice, dtls,
// srtp, rtp, turn, policy, audit, store, metrics.
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

}  // namespace medrelay::log

// Compile-time floor (house style 7): trace is compiled out of release builds.
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
