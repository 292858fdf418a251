// Passive ICE-TCP listener with RFC 4571 framing on real loopback connections.
#include "net/ice_tcp_listener.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/media/ice_test_util.h"

namespace medrelay::net {
namespace {

struct Frames : IceTcpListener::Callbacks {
  std::vector<std::string> frames;
  std::vector<uint32_t> ids;
  int closed = 0;
  void onFrame(uint32_t id, const SocketAddress&, uint8_t* data, size_t len) override {
    frames.emplace_back(reinterpret_cast<char*>(data), len);
    ids.push_back(id);
  }
  void onConnectionClosed(uint32_t, const SocketAddress&) override { ++closed; }
};

int connectTo(const SocketAddress& a) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(::connect(fd, a.sockaddrPtr(), a.sockaddrLength()), 0);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

std::string frame(const std::string& payload) {
  std::string f(2, '\0');
  f[0] = static_cast<char>(payload.size() >> 8);
  f[1] = static_cast<char>(payload.size() & 0xFF);
  return f + payload;
}

void writeAll(int fd, const std::string& s) {
  ASSERT_EQ(::send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
}

// True when the peer closed the connection (recv returns 0 or reset).
bool peerClosed(int fd) {
  char b[16];
  const ssize_t n = ::recv(fd, b, sizeof(b), 0);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

class IceTcpListenerTest : public ::testing::Test {
 protected:
  void open(IceTcpListener::Options o = {}) {
    o.bind = *SocketAddress::parse("127.0.0.1:0");
    auto l = IceTcpListener::open(d_, o, frames_);
    ASSERT_TRUE(l) << l.error().message;
    listener_ = std::move(l.value());
  }
  bool run(const std::function<bool()>& pred) { return test::runUntil(d_, pred); }
  Dispatcher d_{"tcp"};
  Frames frames_;
  std::unique_ptr<IceTcpListener> listener_;
};

TEST_F(IceTcpListenerTest, FramesSplitAcrossWritesAndSeveralInOneWrite) {
  open();
  const int fd = connectTo(listener_->localAddress());
  const std::string big(3000, 'x');
  const std::string stream = frame("hello") + frame(big) + frame("a") + frame("bc");
  // Byte by byte for the first frame (header split too), then the rest in one write.
  for (size_t i = 0; i < 7; ++i) {
    writeAll(fd, stream.substr(i, 1));
    test::runUntil(
        d_, [] { return false; }, std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(run([&] { return frames_.frames.size() == 1; }));
  writeAll(fd, stream.substr(7, 1000));
  writeAll(fd, stream.substr(1007));
  ASSERT_TRUE(run([&] { return frames_.frames.size() == 4; }));
  EXPECT_EQ(frames_.frames[0], "hello");
  EXPECT_EQ(frames_.frames[1], big);
  EXPECT_EQ(frames_.frames[2], "a");
  EXPECT_EQ(frames_.frames[3], "bc");
  EXPECT_EQ(listener_->counters().framesIn, 4u);

  // Replies go back framed on the same connection.
  const std::string reply = "reply-bytes";
  ASSERT_TRUE(listener_->sendFrame(frames_.ids[0], reinterpret_cast<const uint8_t*>(reply.data()),
                                   reply.size()));
  char buf[64];
  ASSERT_EQ(::recv(fd, buf, 2 + reply.size(), MSG_WAITALL), static_cast<ssize_t>(2 + reply.size()));
  EXPECT_EQ(std::string(buf, 2 + reply.size()), frame(reply));
  ::close(fd);
  ASSERT_TRUE(run([&] { return frames_.closed == 1; }));
  EXPECT_EQ(listener_->connectionCount(), 0u);
  EXPECT_EQ(listener_->counters().closedByPeer, 1u);
}

TEST_F(IceTcpListenerTest, OversizeFrameClosesConnection) {
  IceTcpListener::Options o;
  o.maxFrame = 1500;
  open(o);
  const int fd = connectTo(listener_->localAddress());
  writeAll(fd, frame("ok") + frame(std::string(1501, 'y')));
  ASSERT_TRUE(run([&] { return frames_.closed == 1; }));
  EXPECT_EQ(frames_.frames.size(), 1u);
  EXPECT_EQ(listener_->counters().closedOversize, 1u);
  EXPECT_TRUE(peerClosed(fd));
  ::close(fd);
}

TEST_F(IceTcpListenerTest, IdleUnauthenticatedConnectionsCloseAuthenticatedStay) {
  IceTcpListener::Options o;
  o.idleTimeout = std::chrono::milliseconds(100);
  open(o);
  const int idle = connectTo(listener_->localAddress());
  const int good = connectTo(listener_->localAddress());
  writeAll(good, frame("check"));
  ASSERT_TRUE(run([&] { return frames_.frames.size() == 1; }));
  listener_->markAuthenticated(frames_.ids[0]);
  ASSERT_TRUE(run([&] { return frames_.closed == 1; }));
  EXPECT_EQ(listener_->counters().closedIdle, 1u);
  EXPECT_TRUE(peerClosed(idle));
  test::runUntil(
      d_, [] { return false; }, std::chrono::milliseconds(250));
  EXPECT_EQ(listener_->connectionCount(), 1u);
  ::close(idle);
  ::close(good);
}

TEST_F(IceTcpListenerTest, ConnectionLimitRejectsExtraConnections) {
  IceTcpListener::Options o;
  o.maxConnections = 2;
  open(o);
  const int a = connectTo(listener_->localAddress());
  const int b = connectTo(listener_->localAddress());
  ASSERT_TRUE(run([&] { return listener_->connectionCount() == 2; }));
  const int c = connectTo(listener_->localAddress());
  ASSERT_TRUE(run([&] { return listener_->counters().rejectedLimit == 1; }));
  EXPECT_TRUE(peerClosed(c));
  EXPECT_EQ(listener_->connectionCount(), 2u);
  ::close(a);
  ::close(b);
  ::close(c);
}

TEST_F(IceTcpListenerTest, LargeRepliesQueueWhenTheKernelIsFullAndArriveIntact) {
  open();
  const int fd = connectTo(listener_->localAddress());
  writeAll(fd, frame("hi"));
  ASSERT_TRUE(run([&] { return frames_.frames.size() == 1; }));
  const uint32_t id = frames_.ids[0];
  // ~8 MB without the peer reading: more than the socket buffers hold, so part is queued.
  std::vector<uint8_t> payload(60000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
  size_t accepted = 0;
  for (int i = 0; i < 16; ++i) {
    if (listener_->sendFrame(id, payload.data(), payload.size())) ++accepted;
  }
  EXPECT_GT(accepted, 0u);
  // Read everything while the loop drains its queue.
  std::atomic<size_t> frames{0};
  std::vector<uint8_t> buf(2 + payload.size());
  std::thread reader([&] {
    while (frames < accepted &&
           ::recv(fd, buf.data(), buf.size(), MSG_WAITALL) == static_cast<ssize_t>(buf.size())) {
      if (std::equal(payload.begin(), payload.end(), buf.begin() + 2)) ++frames;
    }
  });
  test::runUntil(
      d_, [&] { return frames == accepted; }, std::chrono::milliseconds(5000));
  reader.join();
  EXPECT_EQ(frames, accepted);
  EXPECT_EQ(accepted + listener_->counters().sendDropQueueFull, 16u);
  ::close(fd);
}

}  // namespace
}  // namespace medrelay::net
