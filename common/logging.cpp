#include "common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <mutex>

namespace medrelay::log {
namespace {

std::mutex g_mutex;
spdlog::level::level_enum g_level = spdlog::level::info;
Format g_format = Format::kText;

void apply(spdlog::logger& logger) {
  logger.set_level(g_level);
  if (g_format == Format::kJson) {
    // Messages are written with fmt and never contain quotes from untrusted input unescaped:
    // callers log ids and codes, not payloads.
    logger.set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","component":"%n","msg":"%v"})",
        spdlog::pattern_time_type::utc);
  } else {
    logger.set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %-5l [%n] %v", spdlog::pattern_time_type::utc);
  }
}

}  // namespace

std::shared_ptr<spdlog::logger> get(std::string_view component) {
  std::lock_guard lock(g_mutex);
  std::string name(component);
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = std::make_shared<spdlog::logger>(
      name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  apply(*logger);
  spdlog::register_logger(logger);
  return logger;
}

bool configure(std::string_view level, Format format) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") return false;
  std::lock_guard lock(g_mutex);
  g_level = lvl;
  g_format = format;
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { apply(*l); });
  return true;
}

}  // namespace medrelay::log
