#include "control/access_log_verify.h"

#include "control/access_log_files.h"

namespace medrelay::control {
namespace {

bool isLink(AccessEvent e) {
  return e == AccessEvent::kLogOpened || e == AccessEvent::kFileLinked ||
         e == AccessEvent::kChainRestarted;
}

std::string detailString(const AccessRecord& r, const char* key) {
  if (!r.detail.is_object()) return {};
  auto it = r.detail.find(key);
  if (it == r.detail.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

bool restUnparsable(std::string_view content, size_t pos) {
  while (pos < content.size()) {
    const size_t nl = content.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? content.size() : nl;
    if (parseLine(content.substr(pos, end - pos)).ok()) return false;
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return true;
}

}  // namespace

std::string VerifyFailure::describe() const {
  std::string out = file;
  if (line != 0) out += " line " + std::to_string(line);
  if (seq) out += " seq " + std::to_string(*seq);
  out += ": " + code + ": " + message;
  return out;
}

std::optional<VerifyFailure> ChainVerifier::checkRecord(const std::string& name, uint64_t line,
                                                        const AccessRecord& r, bool first_in_file) {
  auto fail = [&](std::string code, std::string message) {
    return VerifyFailure{name, line, r.seq, std::move(code), std::move(message)};
  };
  const AccessLogKey* key = keyring_.find(r.key_id);
  if (key == nullptr) return fail("unknown_key", "no key with id " + r.key_id + " in the keyring");
  if (have_chain_ && r.key_id != key_id_) {
    return fail("key_mismatch", "record uses key " + r.key_id + ", chain expects " + key_id_);
  }
  auto prev = macFromHex(r.prev_mac);
  if (!prev) return fail("unparsable", "prev_mac is not 64 lower-case hex digits");
  const Mac mac = computeMac(key->bytes, *prev, canonicalBody(r));
  if (toHex(mac) != r.mac) return fail("mac_mismatch", "MAC does not match the record's content");

  if (first_in_file) {
    if (!isLink(r.event)) {
      return fail("missing_link",
                  "file does not begin with log_opened/file_linked/chain_restarted");
    }
    if (r.event == AccessEvent::kLogOpened) {
      if (have_chain_) return fail("chain_break", "log_opened in the middle of a chain");
      if (r.seq != 1 || *prev != kGenesisMac) {
        return fail("chain_break", "log_opened must be seq 1 with the genesis prev_mac");
      }
    } else {
      const std::string pf = detailString(r, "prev_file");
      if (have_chain_ && pf != prev_file_) {
        if (!pf.empty() && present_.count(pf) == 0) {
          return fail("missing_file", "links to " + pf + ", which is missing (previous present: " +
                                          prev_file_ + ")");
        }
        return fail("file_order", "links to '" + pf + "' but follows " + prev_file_);
      }
      if (!have_chain_) anchor_prev_file_ = pf;
    }
  } else if (isLink(r.event)) {
    return fail("unexpected_link", std::string(toString(r.event)) + " inside a file");
  }

  if (have_chain_) {
    if (r.seq > next_seq_) {
      return fail("sequence_gap",
                  "expected seq " + std::to_string(next_seq_) + " (records missing)");
    }
    if (r.seq < next_seq_) {
      return fail("sequence_order",
                  "expected seq " + std::to_string(next_seq_) + " (record repeated or moved)");
    }
    if (r.prev_mac != last_mac_) return fail("chain_break", "prev_mac is not the previous MAC");
    if (r.time_us < last_time_us_) return fail("time_order", "time goes backwards");
  } else {
    first_seq_ = r.seq;
  }

  std::string next_key = r.key_id;
  if (r.event == AccessEvent::kKeyRotated) {
    next_key = detailString(r, "new_key_id");
    if (next_key.empty()) return fail("bad_detail", "key_rotated without detail.new_key_id");
  }
  if (r.event == AccessEvent::kFilesPruned) {
    auto it = r.detail.is_object() ? r.detail.find("files") : r.detail.end();
    if (it == r.detail.end() || !it->is_array()) {
      return fail("bad_detail", "files_pruned without detail.files");
    }
    for (const auto& f : *it) {
      if (f.is_string()) pruned_.insert(f.get<std::string>());
    }
  }
  have_chain_ = true;
  next_seq_ = r.seq + 1;
  last_mac_ = r.mac;
  last_time_us_ = r.time_us;
  key_id_ = std::move(next_key);
  ++records_;
  return std::nullopt;
}

FileScan ChainVerifier::scanFile(const std::string& name, std::string_view content) {
  FileScan scan;
  size_t pos = 0;
  uint64_t line = 0;
  while (pos < content.size()) {
    ++line;
    const size_t nl = content.find('\n', pos);
    if (nl == std::string_view::npos) {
      scan.failure = VerifyFailure{
          name, line, std::nullopt, "torn_line",
          "last line has no newline (" + std::to_string(content.size() - pos) + " bytes)"};
      scan.tail_only = true;
      break;
    }
    const std::string_view text = content.substr(pos, nl - pos);
    auto parsed = parseLine(text);
    if (!parsed) {
      scan.failure =
          VerifyFailure{name, line, std::nullopt, parsed.error().code, parsed.error().message};
      scan.tail_only = parsed.error().code == "unparsable" && restUnparsable(content, nl + 1);
      break;
    }
    if (auto f = checkRecord(name, line, *parsed, line == 1)) {
      scan.failure = std::move(f);
      break;
    }
    ++scan.records;
    scan.good_bytes = nl + 1;
    if (!scan.first) scan.first = *parsed;
    scan.last = std::move(parsed).value();
    pos = nl + 1;
  }
  if (!scan.failure && scan.records == 0) {
    scan.failure = VerifyFailure{name, 0, std::nullopt, "torn_line", "file is empty"};
    scan.tail_only = true;
  }
  prev_file_ = name;
  return scan;
}

std::string VerifyReport::summary() const {
  if (failure) return "FAIL " + failure->describe();
  std::string out = "OK " + std::to_string(files) + (files == 1 ? " file, " : " files, ") +
                    std::to_string(records) + " records, seq " + std::to_string(first_seq) + ".." +
                    std::to_string(last_seq) + ", last " + formatTime(last_time_us) + ", key " +
                    key_id + ", last mac " + last_mac;
  if (!pruned_before.empty()) out += ", authorised pruning before " + pruned_before;
  if (standalone && first_seq > 1) out += ", anchored at seq " + std::to_string(first_seq);
  return out;
}

VerifyReport verifyAccessLog(const std::filesystem::path& file_or_dir,
                             const AccessLogKeyring& keyring) {
  VerifyReport report;
  std::error_code ec;
  std::filesystem::path dir;
  std::vector<std::string> files;
  if (std::filesystem::is_directory(file_or_dir, ec)) {
    dir = file_or_dir;
    files = listLogFiles(dir);
    if (files.empty()) {
      report.failure =
          VerifyFailure{file_or_dir.string(), 0, std::nullopt, "no_log", "no access-*.jsonl files"};
      return report;
    }
  } else {
    dir = file_or_dir.parent_path();
    files.push_back(file_or_dir.filename().string());
    report.standalone = true;
  }
  ChainVerifier chain(keyring);
  chain.setPresentFiles(std::set<std::string>(files.begin(), files.end()));
  for (const auto& name : files) {
    auto content = readWholeFile(dir / name);
    if (!content) {
      report.failure = VerifyFailure{name, 0, std::nullopt, "missing_file", "cannot read file"};
      return report;
    }
    FileScan scan = chain.scanFile(name, *content);
    ++report.files;
    if (scan.failure) {
      report.failure = std::move(scan.failure);
      return report;
    }
  }
  if (!report.standalone && !chain.anchorPrevFile().empty()) {
    if (chain.prunedFiles().count(chain.anchorPrevFile()) == 0) {
      report.failure = VerifyFailure{files.front(), 1, chain.firstSeq(), "missing_file",
                                     "links to " + chain.anchorPrevFile() +
                                         ", which is missing and was not pruned by retention"};
      return report;
    }
    report.pruned_before = chain.anchorPrevFile();
  }
  report.records = chain.records();
  report.first_seq = chain.firstSeq();
  report.last_seq = chain.lastSeq();
  report.last_mac = chain.lastMac();
  report.last_time_us = chain.lastTimeUs();
  report.key_id = chain.currentKeyId();
  return report;
}

}  // namespace medrelay::control
