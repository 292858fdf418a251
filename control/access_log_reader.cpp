#include "control/access_log_reader.h"

#include "control/access_log_files.h"

namespace medrelay::control {

Result<std::vector<AccessRecord>> AccessLogReader::query(const AccessLogQuery& q) const {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir_, ec)) {
    return makeError("access_log_unavailable", "no access log directory " + dir_.string());
  }
  const auto files = listLogFiles(dir_);
  std::vector<AccessRecord> out;
  for (size_t i = 0; i < files.size() && out.size() < q.limit; ++i) {
    // A file holds records up to the first record of the next one.
    if (i + 1 < files.size()) {
      auto next = parseLogFileName(files[i + 1]);
      if (next && q.since_us && next->time_us < *q.since_us) continue;
      if (next && next->first_seq <= q.after_seq + 1 && q.after_seq > 0) continue;
    }
    auto content = readWholeFile(dir_ / files[i]);
    if (!content) continue;  // pruned meanwhile
    size_t pos = 0;
    while (pos < content->size() && out.size() < q.limit) {
      const size_t nl = content->find('\n', pos);
      if (nl == std::string::npos) break;  // torn tail
      auto rec = parseLine(std::string_view(*content).substr(pos, nl - pos));
      pos = nl + 1;
      if (!rec) continue;
      if (rec->seq <= q.after_seq) continue;
      if (q.since_us && rec->time_us < *q.since_us) continue;
      if (!q.room.empty() && rec->room != q.room) continue;
      out.push_back(std::move(rec).value());
    }
  }
  return out;
}

}  // namespace medrelay::control
