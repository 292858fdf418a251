#pragma once

// Plain-UDP side of the load generator: sends RTP-shaped packets (rtp_traffic.h) to one address
// at the model's rate and receives what comes back on K sockets, counting packets, bytes, loss
// and latency from the payload stamps. Used against the bare ceiling relay; the WebRTC
// participants (medrelay-load) use the same model and stamps over SRTP.

#include <netinet/in.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "bench/load/load_stats.h"
#include "bench/load/rtp_traffic.h"

namespace medrelay::bench {

struct UdpLoadOptions {
  TrafficModel model;
  bool unpaced = false;  // send as fast as the sender can (saturation), ignoring the rate
  double durationS = 5;  // sending time
  double drainS = 0.3;   // receive-only time after sending stops
  int cpu = -1;          // pin sender and receiver threads here (-1: no pinning)
  pid_t relayPid = 0;    // process whose CPU and memory are measured (0: none)
  bool progress = true;  // one status line per second on stderr
};

struct UdpLoadResult {
  uint64_t sent = 0;
  uint64_t sentBytes = 0;
  uint64_t sendErrors = 0;
  uint64_t received = 0;
  uint64_t receivedBytes = 0;
  double sendSeconds = 0;
  double relayCpuSeconds = 0;
  uint64_t relayRssBytes = 0;
  LatencyHistogram latency;
  nlohmann::json toJson(size_t fanout) const;
};

// Sends from sendFd (unconnected) to target, receives on receiverFds (each expected to get every
// packet). The fds stay owned by the caller.
UdpLoadResult runUdpLoad(const UdpLoadOptions& options, int sendFd, const sockaddr_in& target,
                         const std::vector<int>& receiverFds);

// A non-blocking UDP socket bound to 127.0.0.1:0 with large buffers; -1 on failure.
int openLoopbackUdp();
sockaddr_in localAddress(int fd);

}  // namespace medrelay::bench
