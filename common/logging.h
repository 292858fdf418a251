#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>

namespace medrelay::log {

// Named loggers, one per component (house style 7). Components: main, http, config, ice, dtls,
// srtp, rtp, turn, policy, audit, store, metrics.
std::shared_ptr<spdlog::logger> get(std::string_view component);

enum class Format { kText, kJson };

// Configures every logger: level ("trace".."critical", "off") and format. Thread-safe; loggers
// created before and after the call share the settings.
bool configure(std::string_view level, Format format);

}  // namespace medrelay::log

#define MR_LOG_TRACE(logger, ...) SPDLOG_LOGGER_TRACE(logger, __VA_ARGS__)
#define MR_LOG_DEBUG(logger, ...) SPDLOG_LOGGER_DEBUG(logger, __VA_ARGS__)
#define MR_LOG_INFO(logger, ...) SPDLOG_LOGGER_INFO(logger, __VA_ARGS__)
#define MR_LOG_WARN(logger, ...) SPDLOG_LOGGER_WARN(logger, __VA_ARGS__)
#define MR_LOG_ERROR(logger, ...) SPDLOG_LOGGER_ERROR(logger, __VA_ARGS__)
