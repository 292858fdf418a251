// StreamListener on real loopback connections: RFC 4571 framing as ICE-TCP uses it, TURN framing
// over plain TCP and TLS.
#include "net/stream_listener.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "net/turn/turn_stream_framing.h"
#include "tests/unit/media/ice_test_util.h"

namespace medrelay::net {
namespace {

struct Frames : StreamListener::Callbacks {
  std::vector<std::string> frames;
  std::vector<uint32_t> ids;
  int closed = 0;
  void onFrame(uint32_t id, const SocketAddress&, uint8_t* data, size_t len) override {
    frames.emplace_back(reinterpret_cast<char*>(data), len);
    ids.push_back(id);
  }
  void onConnectionClosed(uint32_t, const SocketAddress&) override { ++closed; }
};

// rcvbuf > 0: a small receive window, so that a peer that does not read fills up soon.
int connectTo(const SocketAddress& a, int rcvbuf = 0) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
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

// As media/worker_transport.cpp opens it, with the listener's default queue limit.
StreamListener::Options iceOptions(size_t maxPacket = Rfc4571Framing::kMaxPacket) {
  StreamListener::Options o;
  o.framing = std::make_shared<Rfc4571Framing>(maxPacket);
  return o;
}

class StreamListenerTest : public ::testing::Test {
 protected:
  void open(StreamListener::Options o = iceOptions()) {
    o.bind = *SocketAddress::parse("127.0.0.1:0");
    auto l = StreamListener::open(d_, o, frames_);
    ASSERT_TRUE(l) << l.error().message;
    listener_ = std::move(l.value());
  }
  bool run(const std::function<bool()>& pred) { return test::runUntil(d_, pred); }
  Dispatcher d_{"tcp"};
  Frames frames_;
  std::unique_ptr<StreamListener> listener_;
};

// RFC 4571 framing, as ICE-TCP uses it.
class IceTcpListenerTest : public StreamListenerTest {};

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
  ASSERT_TRUE(listener_->send(frames_.ids[0], reinterpret_cast<const uint8_t*>(reply.data()),
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
  StreamListener::Options o = iceOptions(1500);
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
  StreamListener::Options o = iceOptions();
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
  StreamListener::Options o = iceOptions();
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

// Sends `count` frames of 60 000 bytes to a peer that is not reading yet (more than the socket
// buffers hold), then reads: every frame send() accepted arrives intact, and the others were
// counted. Returns how many were accepted.
size_t sendUnreadThenReadAll(Dispatcher& d, StreamListener& listener, Frames& frames,
                             size_t count) {
  const int fd = connectTo(listener.localAddress(), 64 * 1024);
  writeAll(fd, frame("hi"));
  EXPECT_TRUE(test::runUntil(d, [&] { return frames.frames.size() == 1; }));
  const uint32_t id = frames.ids.at(0);
  std::vector<uint8_t> payload(60000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
  size_t accepted = 0;
  for (size_t i = 0; i < count; ++i) {
    if (listener.send(id, payload.data(), payload.size())) ++accepted;
  }
  // Read everything while the loop drains its queue.
  std::atomic<size_t> received{0};
  std::vector<uint8_t> buf(2 + payload.size());
  std::thread reader([&] {
    while (received < accepted &&
           ::recv(fd, buf.data(), buf.size(), MSG_WAITALL) == static_cast<ssize_t>(buf.size())) {
      if (std::equal(payload.begin(), payload.end(), buf.begin() + 2)) ++received;
    }
  });
  test::runUntil(
      d, [&] { return received == accepted; }, std::chrono::milliseconds(5000));
  reader.join();
  EXPECT_EQ(received, accepted);
  EXPECT_EQ(accepted + listener.counters().sendDropQueueFull, count);
  ::close(fd);
  return accepted;
}

TEST_F(IceTcpListenerTest, LargeRepliesQueueWhenTheKernelIsFullAndArriveIntact) {
  open();
  EXPECT_GT(sendUnreadThenReadAll(d_, *listener_, frames_, 16), 0u);
}

TEST_F(IceTcpListenerTest, SmallQueueDropsWholeFramesAndTheStreamStaysFramed) {
  StreamListener::Options o = iceOptions();
  o.maxQueuedBytes = 128 * 1024;  // as for media
  open(o);
  const size_t accepted = sendUnreadThenReadAll(d_, *listener_, frames_, 256);
  EXPECT_GT(accepted, 0u);
  EXPECT_GT(listener_->counters().sendDropQueueFull, 0u);
}

// TURN framing (RFC 8656 §12.5) on plain TCP: STUN messages and padded ChannelData back to back.
class TurnStreamListenerTest : public StreamListenerTest {
 protected:
  void openTurn(std::chrono::milliseconds idle = std::chrono::milliseconds(120000)) {
    StreamListener::Options o;
    o.framing = std::make_shared<turn::TurnStreamFraming>();
    o.idleRule = StreamListener::IdleRule::kSinceLastReceive;
    o.idleTimeout = idle;
    open(o);
  }
};

std::string stunBinding() {
  const uint8_t b[] = {0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3, 4, 5, 6,
                       7,    8,    9,    10,   11,   12,   0x80, 0x22, 0, 0, 0, 0, 0, 0};
  return std::string(reinterpret_cast<const char*>(b), sizeof(b));
}

TEST_F(TurnStreamListenerTest, StunAndChannelDataSplitAndBackToBack) {
  openTurn();
  const int fd = connectTo(listener_->localAddress());
  const std::string channel(
      "\x40\x01\x00\x03"
      "abc\x00",
      8);  // 3 bytes padded to 4
  const std::string stream = stunBinding() + channel + channel + stunBinding();
  writeAll(fd, stream.substr(0, 5));
  test::runUntil(
      d_, [] { return false; }, std::chrono::milliseconds(20));
  EXPECT_TRUE(frames_.frames.empty());
  writeAll(fd, stream.substr(5));
  ASSERT_TRUE(run([&] { return frames_.frames.size() == 4; }));
  EXPECT_EQ(frames_.frames[0], stunBinding());
  EXPECT_EQ(frames_.frames[1], channel);  // handed on with its padding
  EXPECT_EQ(frames_.frames[3], stunBinding());
  // Replies go out as they are: the server builds whole messages.
  const std::string reply = stunBinding();
  ASSERT_TRUE(listener_->send(frames_.ids[0], reinterpret_cast<const uint8_t*>(reply.data()),
                              reply.size()));
  std::string got(reply.size(), '\0');
  ASSERT_EQ(::recv(fd, got.data(), got.size(), MSG_WAITALL), static_cast<ssize_t>(got.size()));
  EXPECT_EQ(got, reply);
  ::close(fd);
}

TEST_F(TurnStreamListenerTest, GarbageClosesTheConnection) {
  openTurn();
  const int fd = connectTo(listener_->localAddress());
  std::string hello(20, '\x01');
  hello[0] = '\x16';  // a TLS ClientHello sent to the plain port
  writeAll(fd, stunBinding() + hello);
  ASSERT_TRUE(run([&] { return frames_.closed == 1; }));
  EXPECT_EQ(frames_.frames.size(), 1u);
  EXPECT_EQ(listener_->counters().closedBadFrame, 1u);
  EXPECT_TRUE(peerClosed(fd));
  ::close(fd);
}

TEST_F(TurnStreamListenerTest, IdleMeansNothingReceivedEvenAfterAuthentication) {
  openTurn(std::chrono::milliseconds(150));
  const int quiet = connectTo(listener_->localAddress());
  const int chatty = connectTo(listener_->localAddress());
  writeAll(quiet, stunBinding());
  ASSERT_TRUE(run([&] { return frames_.frames.size() == 1; }));
  listener_->markAuthenticated(frames_.ids[0]);  // no effect under kSinceLastReceive
  for (int i = 0; i < 6; ++i) {
    writeAll(chatty, stunBinding());
    test::runUntil(
        d_, [] { return false; }, std::chrono::milliseconds(50));
  }
  EXPECT_EQ(frames_.closed, 1);
  EXPECT_EQ(listener_->counters().closedIdle, 1u);
  EXPECT_EQ(listener_->connectionCount(), 1u);
  EXPECT_TRUE(peerClosed(quiet));
  ::close(quiet);
  ::close(chatty);
}

}  // namespace
}  // namespace medrelay::net
