#include "bench/load/udp_load.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <thread>

namespace medrelay::bench {

namespace {
constexpr size_t kBatch = 64;
constexpr size_t kMaxPacket = 1500;

void setBuffers(int fd) {
  const int size = 8 * 1024 * 1024;
  // FORCE variants pass net.core.[rw]mem_max when privileged; plain ones otherwise.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
}

void sender(const UdpLoadOptions& o, int fd, const sockaddr_in& target, UdpLoadResult& r,
            std::atomic<bool>& done) {
  if (o.cpu >= 0) pinToCpu(o.cpu);
  static thread_local std::array<std::array<uint8_t, kMaxPacket>, kBatch> bufs;
  std::array<ScheduledPacket, kBatch> pkts{};
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iovs{};
  const uint64_t start = monotonicNs();
  const auto end = start + static_cast<uint64_t>(o.durationS * 1e9);
  TrafficSchedule schedule(o.model, start);
  while (true) {
    uint64_t now = monotonicNs();
    if (now >= end) break;
    size_t n = schedule.due(o.unpaced ? ~0ULL : now, pkts.data(), kBatch);
    if (n == 0) {
      // Sleep until the next packet is due (the receiver shares this CPU: no spinning).
      const uint64_t next = std::min(schedule.nextDueNs(), end);
      const timespec ts{static_cast<time_t>(next / 1'000'000'000ULL),
                        static_cast<long>(next % 1'000'000'000ULL)};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
      continue;
    }
    now = monotonicNs();
    for (size_t i = 0; i < n; ++i) {
      writeRtpPacket(bufs[i].data(), pkts[i], 0x10000 + pkts[i].stream,
                     pkts[i].stream % 2 ? 96 : 111, now);
      iovs[i] = {bufs[i].data(), pkts[i].size};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = const_cast<sockaddr_in*>(&target);
      msgs[i].msg_hdr.msg_namelen = sizeof target;
    }
    size_t off = 0;
    while (off < n) {
      const int s = sendmmsg(fd, msgs.data() + off, static_cast<unsigned>(n - off), 0);
      if (s <= 0) {
        // Socket buffer full: wait for room (bounded by the run's end). Any other error drops
        // the rest of the batch.
        if ((errno != EAGAIN && errno != ENOBUFS) || monotonicNs() >= end) {
          ++r.sendErrors;
          break;
        }
        pollfd p{fd, POLLOUT, 0};
        poll(&p, 1, 1);
        continue;
      }
      for (int i = 0; i < s; ++i) r.sentBytes += iovs[off + static_cast<size_t>(i)].iov_len;
      off += static_cast<size_t>(s);
    }
    r.sent += off;
  }
  r.sendSeconds = static_cast<double>(monotonicNs() - start) / 1e9;
  done = true;
}

void receiver(const UdpLoadOptions& o, const std::vector<int>& fds, UdpLoadResult& r,
              std::atomic<bool>& sendDone, std::atomic<uint64_t>& received) {
  if (o.cpu >= 0) pinToCpu(o.cpu);
  static thread_local std::array<std::array<uint8_t, kMaxPacket>, kBatch> bufs;
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iovs{};
  std::vector<pollfd> pfds;
  for (int fd : fds) pfds.push_back({fd, POLLIN, 0});
  uint64_t drainUntil = 0;
  while (true) {
    const uint64_t now = monotonicNs();
    if (sendDone && drainUntil == 0) drainUntil = now + static_cast<uint64_t>(o.drainS * 1e9);
    if (drainUntil != 0 && now >= drainUntil) break;
    if (poll(pfds.data(), pfds.size(), 10) <= 0) continue;
    for (auto& p : pfds) {
      if (!(p.revents & POLLIN)) continue;
      for (size_t i = 0; i < kBatch; ++i) {
        iovs[i] = {bufs[i].data(), kMaxPacket};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int n;
      while ((n = recvmmsg(p.fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr)) > 0) {
        const uint64_t t = monotonicNs();
        for (int i = 0; i < n; ++i) {
          const size_t len = msgs[static_cast<size_t>(i)].msg_len;
          r.receivedBytes += len;
          if (len < kRtpHeaderSize + kPayloadPrefix) continue;
          const auto stamp = PayloadStamp::read(
              bufs[static_cast<size_t>(i)].data() + kRtpHeaderSize + kPayloadPrefix,
              len - kRtpHeaderSize - kPayloadPrefix);
          if (stamp && t >= stamp->sendNs) r.latency.add(t - stamp->sendNs);
        }
        r.received += static_cast<uint64_t>(n);
        received.store(r.received, std::memory_order_relaxed);
        if (static_cast<size_t>(n) < kBatch) break;
      }
    }
  }
}
}  // namespace

nlohmann::json UdpLoadResult::toJson(size_t fanout) const {
  const double expected = static_cast<double>(sent) * static_cast<double>(fanout);
  const double fwdPps = sendSeconds > 0 ? static_cast<double>(received) / sendSeconds : 0;
  return {
      {"sent_packets", sent},
      {"sent_bytes", sentBytes},
      {"received_packets", received},
      {"received_bytes", receivedBytes},
      {"seconds", sendSeconds},
      {"send_errors", sendErrors},
      {"offered_pps", sendSeconds > 0 ? static_cast<double>(sent) / sendSeconds : 0},
      {"forwarded_pps", fwdPps},
      {"forwarded_bytes_per_s",
       sendSeconds > 0 ? static_cast<double>(receivedBytes) / sendSeconds : 0},
      {"loss", expected > 0 ? std::max(0.0, 1.0 - static_cast<double>(received) / expected) : 0},
      {"relay_cpu_seconds", relayCpuSeconds},
      {"forwarded_per_cpu_second",
       relayCpuSeconds > 0 ? static_cast<double>(received) / relayCpuSeconds : 0},
      {"relay_rss_bytes", relayRssBytes},
      {"latency", latency.summary()}};
}

UdpLoadResult runUdpLoad(const UdpLoadOptions& o, int sendFd, const sockaddr_in& target,
                         const std::vector<int>& receiverFds) {
  UdpLoadResult r;
  std::atomic<bool> sendDone{false};
  std::atomic<uint64_t> received{0};
  const auto before = o.relayPid ? readProcUsage(o.relayPid) : std::nullopt;
  std::thread rx([&] { receiver(o, receiverFds, r, sendDone, received); });
  UdpLoadResult sendSide;
  std::thread tx([&] { sender(o, sendFd, target, sendSide, sendDone); });
  if (o.progress) {
    uint64_t last = 0;
    for (int s = 1; !sendDone; ++s) {
      for (int i = 0; i < 10 && !sendDone; ++i) usleep(100'000);
      if (sendDone) break;
      const uint64_t now = received.load(std::memory_order_relaxed);
      std::fprintf(stderr, "  [%2ds] forwarded %9.0f pkt/s\n", s, static_cast<double>(now - last));
      last = now;
    }
  }
  tx.join();
  rx.join();
  r.sent = sendSide.sent;
  r.sentBytes = sendSide.sentBytes;
  r.sendErrors = sendSide.sendErrors;
  r.sendSeconds = sendSide.sendSeconds;
  if (before) {
    if (const auto after = readProcUsage(o.relayPid)) {
      r.relayCpuSeconds = after->cpuSeconds - before->cpuSeconds;
      r.relayRssBytes = after->rssBytes;
    }
  }
  return r;
}

int openLoopbackUdp() {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  setBuffers(fd);
  return fd;
}

sockaddr_in localAddress(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return a;
}

}  // namespace medrelay::bench
