#pragma once

// The ceiling: the least a UDP relay can do per packet. Receives batches with recvmmsg and sends
// each packet to every one of K destinations with sendmmsg; no parsing, no crypto, no routing
// tables. medrelay's forwarding cost per packet is reported as a ratio of this one's, measured
// in the same run on the same machine.

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <vector>

namespace medrelay::bench {

struct CeilingRelayStats {
  uint64_t received = 0;
  uint64_t sent = 0;
  uint64_t sendErrors = 0;
};

// Runs until stop is set (checked at least every 50 ms). fd: a bound UDP socket.
CeilingRelayStats runCeilingRelay(int fd, const std::vector<sockaddr_in>& destinations,
                                  const std::atomic<bool>& stop);

}  // namespace medrelay::bench
