// Fuzzes the redirect-ticket opener (docs/cluster.md "Redirects"): the `ticket` query parameter
// of a WHIP/WHEP join is untrusted input from any client.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/cluster/join_ticket.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const medrelay::control::cluster::TicketSealer sealer("fuzz-cluster-secret-0123456789");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = sealer.open(text, 0);
  if (t.ok()) (void)sealer.seal(*t);
  return 0;
}
