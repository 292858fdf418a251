#include "bench/ceiling/ceiling_relay.h"

#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <vector>

namespace medrelay::bench {

namespace {
constexpr size_t kBatch = 64;
constexpr size_t kMaxPacket = 1500;
constexpr size_t kMaxFanout = 16;
}  // namespace

CeilingRelayStats runCeilingRelay(int fd, const std::vector<sockaddr_in>& destinations,
                                  const std::atomic<bool>& stop) {
  CeilingRelayStats stats;
  const size_t k = std::min(destinations.size(), kMaxFanout);
  std::vector<std::array<uint8_t, kMaxPacket>> bufs(kBatch);
  std::array<mmsghdr, kBatch> in{};
  std::array<iovec, kBatch> inIov{};
  std::vector<mmsghdr> out(kBatch * kMaxFanout);
  std::vector<iovec> outIov(kBatch * kMaxFanout);
  pollfd p{fd, POLLIN, 0};
  while (!stop.load(std::memory_order_relaxed)) {
    for (size_t i = 0; i < kBatch; ++i) {
      inIov[i] = {bufs[i].data(), kMaxPacket};
      in[i] = {};
      in[i].msg_hdr.msg_iov = &inIov[i];
      in[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = recvmmsg(fd, in.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) {
      poll(&p, 1, 50);
      continue;
    }
    stats.received += static_cast<uint64_t>(n);
    size_t m = 0;
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
      for (size_t d = 0; d < k; ++d, ++m) {
        outIov[m] = {bufs[i].data(), in[i].msg_len};
        out[m] = {};
        out[m].msg_hdr.msg_iov = &outIov[m];
        out[m].msg_hdr.msg_iovlen = 1;
        out[m].msg_hdr.msg_name = const_cast<sockaddr_in*>(&destinations[d]);
        out[m].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      }
    }
    size_t off = 0;
    while (off < m) {
      const int s = sendmmsg(fd, out.data() + off, static_cast<unsigned>(m - off), 0);
      if (s <= 0) {
        // A full send buffer on loopback means a receiver is behind: drop the rest, as a relay
        // must rather than stall every other destination.
        stats.sendErrors += m - off;
        break;
      }
      off += static_cast<size_t>(s);
      stats.sent += static_cast<uint64_t>(s);
    }
  }
  return stats;
}

}  // namespace medrelay::bench
