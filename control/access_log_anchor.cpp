#include "control/access_log_anchor.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "control/access_log_files.h"

namespace medrelay::control {
namespace {

std::optional<ChainHead> headOf(const nlohmann::json& j) {
  const nlohmann::json* h = &j;
  if (j.contains("chain_head")) h = &j["chain_head"];
  if (!h->is_object() || !h->contains("seq") || !h->contains("mac")) return std::nullopt;
  const auto& seq = (*h)["seq"];
  const auto& mac = (*h)["mac"];
  if (!seq.is_number_unsigned() || !mac.is_string()) return std::nullopt;
  ChainHead head;
  head.seq = seq.get<uint64_t>();
  head.mac = mac.get<std::string>();
  if (head.seq == 0 || !macFromHex(head.mac)) return std::nullopt;
  if (h->contains("time") && (*h)["time"].is_string()) {
    head.time_us = parseTime((*h)["time"].get<std::string>()).value_or(0);
  }
  return head;
}

// seq → MAC of the wanted records of a verified log, read back in one pass (not re-verified).
std::map<uint64_t, std::string> macsAt(const std::filesystem::path& path, bool standalone,
                                       const std::set<uint64_t>& wanted) {
  std::map<uint64_t, std::string> out;
  if (wanted.empty()) return out;
  std::vector<std::filesystem::path> files;
  if (standalone) {
    files.push_back(path);
  } else {
    const auto names = listLogFiles(path);
    for (size_t i = 0; i < names.size(); ++i) {
      // A file holds the records up to the first of the next one.
      if (i + 1 < names.size()) {
        auto next = parseLogFileName(names[i + 1]);
        if (next && next->first_seq <= *wanted.begin()) continue;
      }
      files.push_back(path / names[i]);
    }
  }
  for (const auto& f : files) {
    auto text = readWholeFile(f);
    if (!text) continue;
    size_t pos = 0;
    while (pos < text->size()) {
      const size_t nl = text->find('\n', pos);
      if (nl == std::string::npos) break;
      auto rec = parseLine(std::string_view(*text).substr(pos, nl - pos));
      pos = nl + 1;
      if (rec && wanted.count(rec->seq) != 0) out[rec->seq] = rec->mac;
    }
  }
  return out;
}

}  // namespace

Result<std::vector<Anchor>> parseAnchors(std::string_view text) {
  std::vector<Anchor> out;
  uint64_t line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    auto head = j.is_discarded() ? std::nullopt : headOf(j);
    if (!head) {
      return makeError("invalid_anchor",
                       "line " + std::to_string(line_no) +
                           ": not a chain head ({\"seq\":N,\"mac\":\"<64 hex>\",…} or an "
                           "object with \"chain_head\")");
    }
    out.push_back({std::move(*head), line_no});
  }
  return out;
}

AnchorReport checkAnchors(const VerifyReport& report, const std::filesystem::path& path,
                          const std::vector<Anchor>& anchors, const std::string& source) {
  AnchorReport out;
  std::set<uint64_t> wanted;
  for (const auto& a : anchors) {
    if (a.head.seq >= report.first_seq && a.head.seq <= report.last_seq) wanted.insert(a.head.seq);
  }
  const auto macs = macsAt(path, report.standalone, wanted);
  for (const auto& a : anchors) {
    auto fail = [&](std::string code, std::string message) {
      out.failure = VerifyFailure{source, a.line, a.head.seq, std::move(code), std::move(message)};
    };
    out.newest_seq = std::max(out.newest_seq, a.head.seq);
    if (a.head.seq < report.first_seq) {
      ++out.before_start;
      continue;
    }
    if (a.head.seq > report.last_seq) {
      if (report.standalone) continue;  // later files may hold it
      const std::string when =
          a.head.time_us != 0 ? " (exported " + formatTime(a.head.time_us) + ")" : "";
      fail("truncated", "the log ends at seq " + std::to_string(report.last_seq) +
                            " but this anchor" + when + " holds seq " + std::to_string(a.head.seq) +
                            ": records or files were removed from the end");
      return out;
    }
    auto it = macs.find(a.head.seq);
    if (it == macs.end()) {
      fail("truncated", "no record with this seq in the log");
      return out;
    }
    if (it->second != a.head.mac) {
      fail("anchor_mismatch", "the record with this seq has mac " + it->second +
                                  ", the anchor holds " + a.head.mac +
                                  ": the log was rewritten after the anchor was taken");
      return out;
    }
    ++out.checked;
  }
  return out;
}

}  // namespace medrelay::control
