#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "control/access_log_key.h"
#include "control/access_log_record.h"

namespace medrelay::control {

// The first bad record found: where and what. Codes: torn_line, unparsable, non_canonical,
// unknown_key, key_mismatch, mac_mismatch, sequence_gap, sequence_order, chain_break, time_order,
// missing_link, unexpected_link, missing_file, file_order, bad_detail, no_log.
struct VerifyFailure {
  std::string file;
  uint64_t line = 0;  // 1-based; 0 when the problem is the file itself
  std::optional<uint64_t> seq;
  std::string code;
  std::string message;
  std::string describe() const;
};

// What scanning one file found.
struct FileScan {
  uint64_t records = 0;
  uint64_t good_bytes = 0;  // offset just past the last line that verified
  std::optional<AccessRecord> first;
  std::optional<AccessRecord> last;
  std::optional<VerifyFailure> failure;
  // The failure is a torn or unparsable tail and nothing after it parses: bytes that can only
  // come from a write that was never acknowledged.
  bool tail_only = false;
};

// Checks records in chain order across files: MAC, sequence, chain link, time order, key ids,
// file links. Shared by the verifier and by the writer's checks at open.
class ChainVerifier {
 public:
  explicit ChainVerifier(const AccessLogKeyring& keyring) : keyring_(keyring) {}

  // Names of the log files present (to tell missing_file from file_order).
  void setPresentFiles(std::set<std::string> names) { present_ = std::move(names); }
  // Scans the next file. The first file scanned anchors the chain at its link record.
  FileScan scanFile(const std::string& name, std::string_view content);

  uint64_t records() const { return records_; }
  uint64_t firstSeq() const { return first_seq_; }
  uint64_t lastSeq() const { return next_seq_ == 0 ? 0 : next_seq_ - 1; }
  const std::string& lastMac() const { return last_mac_; }
  int64_t lastTimeUs() const { return last_time_us_; }
  const std::string& currentKeyId() const { return key_id_; }
  // The file named by the first file's link record, if the chain did not start at genesis.
  const std::string& anchorPrevFile() const { return anchor_prev_file_; }
  const std::set<std::string>& prunedFiles() const { return pruned_; }

 private:
  std::optional<VerifyFailure> checkRecord(const std::string& name, uint64_t line,
                                           const AccessRecord& r, bool first_in_file);

  const AccessLogKeyring& keyring_;
  std::set<std::string> present_;
  std::string prev_file_;  // name of the last file scanned
  bool have_chain_ = false;
  uint64_t records_ = 0;
  uint64_t first_seq_ = 0;
  uint64_t next_seq_ = 0;
  std::string last_mac_;
  int64_t last_time_us_ = 0;
  std::string key_id_;
  std::string anchor_prev_file_;
  std::set<std::string> pruned_;
};

struct VerifyReport {
  uint64_t files = 0;
  uint64_t records = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  std::string last_mac;
  int64_t last_time_us = 0;
  std::string key_id;
  std::string pruned_before;  // the authorised missing predecessor of the first file, if any
  bool standalone = false;    // a single file was checked, anchored at its first record
  std::optional<VerifyFailure> failure;

  bool ok() const { return !failure.has_value(); }
  std::string summary() const;
};

// Verifies a log directory (every access-*.jsonl in order, with pruning authorised only by a
// files_pruned record) or a single file (anchored at its own link record).
VerifyReport verifyAccessLog(const std::filesystem::path& file_or_dir,
                             const AccessLogKeyring& keyring);

}  // namespace medrelay::control
