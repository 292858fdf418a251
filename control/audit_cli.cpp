#include "control/audit_cli.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "control/access_log_anchor.h"
#include "control/access_log_files.h"
#include "control/access_log_key.h"
#include "control/access_log_reader.h"
#include "control/access_log_verify.h"

namespace medrelay::control {
namespace {

// Values come from a file an attacker may have edited: never print raw control characters.
std::string printable(const std::string& v) {
  for (const char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == ' ' || c == '"') return canonicalJson(v).value_or("?");
  }
  return v;
}

void addDefaultKeys(const std::filesystem::path& target, AccessLogKeyring& keyring) {
  std::error_code ec;
  std::filesystem::path dir =
      std::filesystem::is_directory(target, ec) ? target : target.parent_path();
  if (!dir.has_filename()) dir = dir.parent_path();
  const auto key_file = dir.parent_path() / "access-log.key";
  if (auto k = loadKeyFile(key_file)) keyring.add(*k);
  const std::string prefix = key_file.filename().string() + ".";
  for (const auto& e : std::filesystem::directory_iterator(key_file.parent_path(), ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() == prefix.size() + 8 && n.compare(0, prefix.size(), prefix) == 0) {
      if (auto k = loadKeyFile(e.path())) keyring.add(*k);
    }
  }
}

// The anchors of --anchor FILE (or - for stdin); exit status 2 when unreadable or malformed.
std::optional<std::vector<Anchor>> readAnchors(const std::string& source) {
  std::string text;
  if (source == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    auto content = readWholeFile(source);
    if (!content) {
      std::fprintf(stderr, "audit verify: cannot read anchor file %s\n", source.c_str());
      return std::nullopt;
    }
    text = std::move(*content);
  }
  auto anchors = parseAnchors(text);
  if (!anchors) {
    std::fprintf(stderr, "audit verify: %s: %s\n", source == "-" ? "stdin" : source.c_str(),
                 anchors.error().message.c_str());
    return std::nullopt;
  }
  return std::move(anchors.value());
}

int runVerify(const std::string& path, const std::vector<std::string>& key_files,
              const std::string& anchor_source) {
  std::optional<std::vector<Anchor>> anchors;
  if (!anchor_source.empty()) {
    anchors = readAnchors(anchor_source);
    if (!anchors) return 2;
  }
  AccessLogKeyring keyring;
  for (const auto& f : key_files) {
    auto k = loadKeyFile(f);
    if (!k) {
      std::fprintf(stderr, "audit verify: %s\n", k.error().message.c_str());
      return 2;
    }
    keyring.add(*k);
  }
  if (key_files.empty()) addDefaultKeys(path, keyring);
  if (keyring.empty()) {
    std::fprintf(stderr, "audit verify: no key (give --key FILE)\n");
    return 2;
  }
  const VerifyReport report = verifyAccessLog(path, keyring);
  if (!report.ok() || !anchors) {
    std::printf("%s\n", report.summary().c_str());
    return report.ok() ? 0 : 1;
  }
  const std::string source = anchor_source == "-" ? "anchors" : anchor_source;
  const AnchorReport checked = checkAnchors(report, path, *anchors, source);
  if (checked.failure) {
    std::printf("FAIL %s\n", checked.failure->describe().c_str());
    return 1;
  }
  std::string line = report.summary() + ", " + std::to_string(checked.checked) + " of " +
                     std::to_string(anchors->size()) + " anchors matched";
  if (checked.before_start > 0) {
    line += " (" + std::to_string(checked.before_start) + " before the first record)";
  }
  std::printf("%s\n", line.c_str());
  return 0;
}

int runShow(const std::string& dir, const std::string& room, const std::string& since,
            uint64_t after_seq, size_t limit) {
  AccessLogQuery q;
  q.room = room;
  q.after_seq = after_seq;
  q.limit = limit;
  if (!since.empty()) {
    q.since_us = parseTimeLoose(since);
    if (!q.since_us) {
      std::fprintf(stderr, "audit show: --since wants RFC 3339 UTC, e.g. 2026-11-21T10:00:00Z\n");
      return 2;
    }
  }
  auto records = AccessLogReader(dir).query(q);
  if (!records) {
    std::fprintf(stderr, "audit show: %s\n", records.error().message.c_str());
    return 1;
  }
  for (const auto& r : *records) {
    std::string line = formatTime(r.time_us) + "  #" + std::to_string(r.seq) + "  " +
                       std::string(toString(r.event));
    const std::pair<const char*, const std::string*> fields[] = {
        {"room", &r.room},           {"invite", &r.invite},   {"role", &r.role},
        {"subject", &r.subject},     {"session", &r.session}, {"remote", &r.remote},
        {"transport", &r.transport}, {"reason", &r.reason},   {"node", &r.node}};
    for (const auto& [name, value] : fields) {
      if (!value->empty()) line += std::string("  ") + name + "=" + printable(*value);
    }
    if (r.detail.is_object() && !r.detail.empty()) {
      line += "  " + canonicalJson(r.detail).value_or("{}");
    }
    std::printf("%s\n", line.c_str());
  }
  std::printf("(%zu records)\n", records->size());
  return 0;
}

}  // namespace

int runAuditCli(int argc, char** argv) {
  CLI::App app{"Verify and read the medrelay access log", "audit"};
  app.require_subcommand(1);

  std::string verify_path;
  std::vector<std::string> key_files;
  auto* verify = app.add_subcommand("verify", "check MACs, sequence and file links");
  verify->add_option("path", verify_path, "log directory or one access-*.jsonl file")->required();
  verify->add_option("--key", key_files, "key file (repeat for rotated keys)");
  std::string anchor_source;
  verify->add_option("--anchor", anchor_source,
                     "chain heads kept elsewhere, one JSON object a line (- for stdin): "
                     "detects a truncated tail");

  std::string dir = ".";
  std::string room;
  std::string since;
  uint64_t after_seq = 0;
  size_t limit = 1000;
  auto* show = app.add_subcommand("show", "list records");
  show->add_option("--dir", dir, "log directory");
  show->add_option("--room", room, "only this room");
  show->add_option("--since", since, "records at or after this UTC time (RFC 3339)");
  show->add_option("--after-seq", after_seq, "records after this sequence number");
  show->add_option("--limit", limit, "at most this many records");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (verify->parsed()) return runVerify(verify_path, key_files, anchor_source);
  return runShow(dir, room, since, after_seq, limit);
}

}  // namespace medrelay::control
