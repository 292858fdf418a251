#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "control/access_log_record.h"

namespace medrelay::control {

// The newest durable record of the log when a batch was exported (webhook, FHIR, JSON export):
// an auditor who keeps these can later tell a truncated tail from a complete log
// (`medrelay audit verify --anchor`, docs/access-log.md "Anchors").
struct ChainHead {
  uint64_t seq = 0;
  std::string mac;  // hex
  int64_t time_us = 0;
};

inline nlohmann::json toJson(const ChainHead& head) {
  return {{"seq", head.seq}, {"mac", head.mac}, {"time", formatTime(head.time_us)}};
}

}  // namespace medrelay::control
