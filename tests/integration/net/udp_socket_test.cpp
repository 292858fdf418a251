// UdpSocket on real loopback sockets: recvmmsg batching, sendmmsg batching, counters.
#include "net/udp_socket.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "tests/unit/media/ice_test_util.h"

namespace medrelay::net {
namespace {

struct PlainSocket {
  int fd = -1;
  SocketAddress local;
  PlainSocket() {
    fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    const int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    const auto any = *SocketAddress::parse("127.0.0.1:0");
    EXPECT_EQ(::bind(fd, any.sockaddrPtr(), any.sockaddrLength()), 0);
    socklen_t len = SocketAddress::capacity();
    getsockname(fd, local.mutableSockaddr(), &len);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~PlainSocket() { ::close(fd); }
  void sendTo(const SocketAddress& to, const void* data, size_t len) {
    ASSERT_EQ(::sendto(fd, data, len, 0, to.sockaddrPtr(), to.sockaddrLength()),
              static_cast<ssize_t>(len));
  }
};

struct Sink : UdpSocket::Callbacks {
  std::vector<uint32_t> seqs;
  uint64_t bytes = 0;
  SocketAddress lastFrom;
  void onDatagram(const SocketAddress& from, uint8_t* data, size_t len) override {
    uint32_t seq = 0;
    if (len >= 4) std::memcpy(&seq, data, 4);
    data[0] ^= 0xFF;  // the buffer is writable (in-place decryption)
    seqs.push_back(seq);
    bytes += len;
    lastFrom = from;
  }
};

UdpSocket::Options loopbackOptions() {
  UdpSocket::Options o;
  o.bind = *SocketAddress::parse("127.0.0.1:0");
  return o;
}

TEST(UdpSocketTest, BindsEphemeralPortOnRequestedAddress) {
  Dispatcher d("udp");
  Sink sink;
  auto s = UdpSocket::open(d, loopbackOptions(), sink);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s.value()->localAddress().ipString(), "127.0.0.1");
  EXPECT_NE(s.value()->localAddress().port(), 0);
  // No SO_REUSEADDR: the same port cannot be bound twice.
  auto o = loopbackOptions();
  o.bind = s.value()->localAddress();
  Sink other;
  EXPECT_FALSE(UdpSocket::open(d, o, other));
}

TEST(UdpSocketTest, ReceivesTenThousandDatagramsInBurstsWithBatching) {
  Dispatcher d("udp");
  Sink sink;
  auto s = UdpSocket::open(d, loopbackOptions(), sink);
  ASSERT_TRUE(s);
  UdpSocket& sock = *s.value();
  PlainSocket peer;
  constexpr uint32_t kTotal = 10000;
  constexpr uint32_t kBurst = 500;
  std::vector<uint8_t> payload(200, 0xAB);
  uint64_t sentBytes = 0;
  for (uint32_t seq = 0; seq < kTotal;) {
    for (uint32_t i = 0; i < kBurst; ++i, ++seq) {
      std::memcpy(payload.data(), &seq, 4);
      const size_t len = 100 + seq % 100;
      peer.sendTo(sock.localAddress(), payload.data(), len);
      sentBytes += len;
    }
    ASSERT_TRUE(test::runUntil(d, [&] { return sink.seqs.size() == seq; }));
  }
  ASSERT_EQ(sink.seqs.size(), kTotal);
  for (uint32_t i = 0; i < kTotal; ++i) ASSERT_EQ(sink.seqs[i], i);
  EXPECT_EQ(sink.lastFrom, peer.local);
  EXPECT_EQ(sock.counters().datagramsIn, kTotal);
  EXPECT_EQ(sock.counters().bytesIn, sentBytes);
  EXPECT_EQ(sink.bytes, sentBytes);
  EXPECT_EQ(sock.counters().recvErrors, 0u);
  // Bursts queue up in the kernel, so recvmmsg returns many per call.
  EXPECT_LT(sock.counters().recvBatches, kTotal / 4);
}

TEST(UdpSocketTest, TruncatedDatagramIsCountedAndDropped) {
  Dispatcher d("udp");
  Sink sink;
  auto o = loopbackOptions();
  o.recvSlotBytes = 512;
  auto s = UdpSocket::open(d, o, sink);
  ASSERT_TRUE(s);
  PlainSocket peer;
  std::vector<uint8_t> big(1000, 1), small(100, 2);
  peer.sendTo(s.value()->localAddress(), big.data(), big.size());
  peer.sendTo(s.value()->localAddress(), small.data(), small.size());
  ASSERT_TRUE(test::runUntil(d, [&] { return sink.seqs.size() == 1; }));
  EXPECT_EQ(s.value()->counters().recvTruncated, 1u);
  EXPECT_EQ(sink.bytes, 100u);
}

TEST(UdpSocketTest, ManySendsInOneIterationLeaveInSendmmsgBatches) {
  Dispatcher d("udp");
  Sink sink;
  auto s = UdpSocket::open(d, loopbackOptions(), sink);
  ASSERT_TRUE(s);
  UdpSocket& sock = *s.value();
  PlainSocket peer;
  constexpr uint32_t kCount = 1000;
  bool done = false;
  d.post([&] {
    uint8_t buf[300] = {};
    for (uint32_t i = 0; i < kCount; ++i) {
      std::memcpy(buf, &i, 4);
      ASSERT_TRUE(sock.send(peer.local, buf, 64 + i % 200));
    }
    // Nothing left yet except full batches; the rest leaves at the end of this iteration.
    EXPECT_EQ(sock.queued(), kCount % 64);
    done = true;
  });
  ASSERT_TRUE(test::runUntil(d, [&] { return done && sock.queued() == 0; }));
  EXPECT_EQ(sock.counters().datagramsOut, kCount);
  EXPECT_EQ(sock.counters().sendBatches, (kCount + 63) / 64);
  EXPECT_EQ(sock.counters().sendDropWouldBlock, 0u);
  for (uint32_t i = 0; i < kCount; ++i) {
    uint8_t buf[400];
    const ssize_t n = ::recv(peer.fd, buf, sizeof(buf), 0);
    ASSERT_EQ(n, static_cast<ssize_t>(64 + i % 200));
    uint32_t seq;
    std::memcpy(&seq, buf, 4);
    ASSERT_EQ(seq, i);  // order kept
  }
}

TEST(UdpSocketTest, SendFromTimerIsFlushedBeforeTheLoopBlocks) {
  // The worker loop has nothing else to do: if a send queued by a timer waited for the next
  // I/O event it would never leave.
  DispatcherThread worker("udp");
  Sink sink;
  PlainSocket peer;
  std::unique_ptr<UdpSocket> sock;
  std::unique_ptr<Timer> timer;
  worker.runSync([&] {
    sock = std::move(UdpSocket::open(worker.dispatcher(), loopbackOptions(), sink).value());
    timer = std::make_unique<Timer>(worker.dispatcher(), [&] {
      const uint8_t b[8] = {7};
      sock->send(peer.local, b, sizeof(b));
    });
    timer->start(std::chrono::milliseconds(20));
  });
  uint8_t buf[16];
  EXPECT_EQ(::recv(peer.fd, buf, sizeof(buf), 0), 8);  // 2 s receive timeout
  worker.runSync([&] {
    timer.reset();
    sock.reset();
  });
}

TEST(UdpSocketTest, SendNowKeepsOrderWithQueuedAndLargeDatagramsBypassTheBatch) {
  Dispatcher d("udp");
  Sink sink;
  auto o = loopbackOptions();
  o.sendSlotBytes = 256;
  auto s = UdpSocket::open(d, o, sink);
  ASSERT_TRUE(s);
  PlainSocket peer;
  std::vector<uint8_t> a(10, 'a'), b(20, 'b'), c(1000, 'c');
  s.value()->send(peer.local, a.data(), a.size());
  s.value()->sendNow(peer.local, b.data(), b.size());
  s.value()->send(peer.local, c.data(), c.size());  // larger than a slot: sent at once
  EXPECT_EQ(s.value()->queued(), 0u);
  uint8_t buf[2000];
  EXPECT_EQ(::recv(peer.fd, buf, sizeof(buf), 0), 10);
  EXPECT_EQ(::recv(peer.fd, buf, sizeof(buf), 0), 20);
  EXPECT_EQ(::recv(peer.fd, buf, sizeof(buf), 0), 1000);
  // A destination of the other family is refused and counted.
  EXPECT_FALSE(s.value()->send(*SocketAddress::parse("[::1]:9"), a.data(), a.size()));
  EXPECT_EQ(s.value()->counters().sendDropInvalid, 1u);
}

}  // namespace
}  // namespace medrelay::net
