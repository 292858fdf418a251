#pragma once
// Redirect tickets (docs/cluster.md "Redirects"): a join that reaches a node other than its
// room's is answered 307 with a Location on the room's node. Browsers and libcurl drop
// `Authorization` on a cross-origin redirect, so the Location carries the invite token sealed in
// a short-lived ticket: AES-256-GCM under a key derived from the cluster secret (every node has
// the same secret file), so only cluster nodes can read or make one, and the token never
// appears in clear in a URL (proxies and access logs record URLs).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace medrelay::control::cluster {

struct JoinTicket {
  std::string room_id;
  std::string token;          // the invite token
  int64_t expires_at_ms = 0;  // Unix milliseconds
};

class TicketSealer {
 public:
  // `secret`: the cluster secret's bytes (at least 16).
  explicit TicketSealer(std::string_view secret);

  std::string seal(const JoinTicket& ticket) const;
  // `invalid_ticket` for anything not sealed by this secret, malformed or expired at `nowMs`.
  Result<JoinTicket> open(std::string_view text, int64_t nowMs) const;

 private:
  std::array<uint8_t, 32> key_{};
};

}  // namespace medrelay::control::cluster
