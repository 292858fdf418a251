#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/access_log_verify.h"
#include "control/chain_head.h"

namespace medrelay::control {

// A chain head kept outside the log (docs/access-log.md "Anchors"), with the line it came from.
struct Anchor {
  ChainHead head;
  uint64_t line = 0;
};

// One anchor per line, each a JSON object: a chain head {"seq":N,"mac":"<64 hex>","time":…} or
// any object carrying one as "chain_head" (a webhook body, a GET /v1/access-log page). Blank
// lines and lines starting with '#' are skipped. Error code: invalid_anchor, naming the line.
Result<std::vector<Anchor>> parseAnchors(std::string_view text);

struct AnchorReport {
  uint64_t checked = 0;       // anchors found in the verified chain with their MAC
  uint64_t before_start = 0;  // anchors older than the first verified record (pruned)
  uint64_t newest_seq = 0;
  std::optional<VerifyFailure> failure;  // truncated, anchor_mismatch
};

// Checks a log that verified (`report` from verifyAccessLog over `path`) against anchors: every
// anchor's seq must be in the log with the anchor's MAC. An anchor beyond the log's last record
// means records or files were removed from the end (`truncated`), which the chain alone cannot
// show. A single file checked alone only answers for the anchors inside it.
AnchorReport checkAnchors(const VerifyReport& report, const std::filesystem::path& path,
                          const std::vector<Anchor>& anchors, const std::string& source);

}  // namespace medrelay::control
