#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "control/access_log_record.h"

namespace medrelay::control {

struct AccessLogQuery {
  std::string room;                 // empty: every room
  std::optional<int64_t> since_us;  // records at or after this UTC time
  uint64_t after_seq = 0;           // records with a larger sequence number (paging cursor)
  size_t limit = 1000;
};

// Reads records back from a log directory for GET /v1/rooms/{id}/access-log and
// GET /v1/access-log?since=&limit=. A linear scan over the files (skipping files that end
// before `since`); it does not check MACs — that is the verifier's job — and skips lines that
// do not parse (a torn tail not yet recovered).
class AccessLogReader {
 public:
  explicit AccessLogReader(std::filesystem::path dir) : dir_(std::move(dir)) {}
  Result<std::vector<AccessRecord>> query(const AccessLogQuery& query) const;

 private:
  std::filesystem::path dir_;
};

}  // namespace medrelay::control
