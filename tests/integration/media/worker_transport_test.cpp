// WorkerTransport demux on real loopback sockets: STUN checks from a plain client, then DTLS and
// RTP/RTCP routing by the validated tuple; drops counted by reason.
#include "media/worker_transport.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "net/stun/stun_integrity.h"
#include "tests/unit/media/ice_test_util.h"

namespace medrelay::media {
namespace {

namespace stun = net::stun;
using Drop = WorkerTransport::Drop;

struct Session : MediaSession, IceLite::Callbacks {
  std::vector<std::string> dtls, rtp, rtcp;
  std::vector<net::TransportTuple> selected;
  void onDtlsPacket(const net::TransportTuple&, uint8_t* d, size_t n) override {
    dtls.emplace_back(reinterpret_cast<char*>(d), n);
  }
  void onRtpPacket(const net::TransportTuple&, uint8_t* d, size_t n) override {
    rtp.emplace_back(reinterpret_cast<char*>(d), n);
  }
  void onRtcpPacket(const net::TransportTuple&, uint8_t* d, size_t n) override {
    rtcp.emplace_back(reinterpret_cast<char*>(d), n);
  }
  void onIceSelectedPairChanged(const net::TransportTuple& t) override { selected.push_back(t); }
  void onIceConnected() override {}
  void onIceConsentLost() override {}
};

struct Client {
  int fd;
  net::SocketAddress local;
  explicit Client(int type = SOCK_DGRAM) {
    fd = ::socket(AF_INET, type, 0);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Client() { ::close(fd); }
  void bindLoopback() {
    const auto a = *net::SocketAddress::parse("127.0.0.1:0");
    ::bind(fd, a.sockaddrPtr(), a.sockaddrLength());
    socklen_t len = net::SocketAddress::capacity();
    getsockname(fd, local.mutableSockaddr(), &len);
  }
  void sendTo(const net::SocketAddress& to, const std::vector<uint8_t>& b) {
    ::sendto(fd, b.data(), b.size(), 0, to.sockaddrPtr(), to.sockaddrLength());
  }
  std::optional<std::vector<uint8_t>> recvDatagram() {
    std::vector<uint8_t> b(2048);
    const ssize_t n = ::recv(fd, b.data(), b.size(), MSG_DONTWAIT);
    if (n < 0) return std::nullopt;
    b.resize(static_cast<size_t>(n));
    return b;
  }
};

std::vector<uint8_t> bytes(std::initializer_list<uint8_t> head, size_t total) {
  std::vector<uint8_t> b(head);
  b.resize(total, 0x55);
  return b;
}

class WorkerTransportTest : public ::testing::Test {
 protected:
  WorkerTransportTest() : agent_(d_, session_) {
    WorkerTransport::Config c;
    c.udp.push_back(*net::SocketAddress::parse("127.0.0.1:0"));
    c.tcp.push_back(*net::SocketAddress::parse("127.0.0.1:0"));
    auto t = WorkerTransport::create(d_, c);
    EXPECT_TRUE(t) << t.error().message;
    transport_ = std::move(t.value());
    agent_.setRemoteCredentials("peer", "peerpasswordpeerpassword");
    EXPECT_TRUE(transport_->addSession(agent_, session_));
    udpAddr_ = transport_->udpSocket(0).localAddress();
  }
  std::vector<uint8_t> check(bool useCandidate, const std::string& ufrag = "") {
    test::BindingRequestSpec s;
    s.username = (ufrag.empty() ? agent_.localUfrag() : ufrag) + ":peer";
    s.password = agent_.localPassword();
    s.useCandidate = useCandidate;
    return test::bindingRequest(s);
  }
  std::optional<std::vector<uint8_t>> awaitDatagram(Client& c) {
    std::optional<std::vector<uint8_t>> got;
    test::runUntil(d_, [&] {
      if (!got) got = c.recvDatagram();
      return got.has_value();
    });
    return got;
  }
  uint64_t dropped(Drop d) const { return transport_->counters().dropped(d); }

  net::Dispatcher d_{"worker"};
  Session session_;
  IceLite agent_;
  std::unique_ptr<WorkerTransport> transport_;
  net::SocketAddress udpAddr_;
};

TEST_F(WorkerTransportTest, UnknownTuplesAreDroppedAndCountedByReason) {
  Client c;
  c.bindLoopback();
  c.sendTo(udpAddr_, bytes({22, 0xFE, 0xFD}, 40));    // DTLS
  c.sendTo(udpAddr_, bytes({0x80, 96}, 40));          // RTP
  c.sendTo(udpAddr_, bytes({0xFF}, 40));              // nothing we serve
  c.sendTo(udpAddr_, bytes({0x00, 0x01, 0x00}, 30));  // STUN-looking garbage
  c.sendTo(udpAddr_, check(true, "nosuchufrag"));
  ASSERT_TRUE(test::runUntil(d_, [&] { return dropped(Drop::kUnknownUfrag) == 1; }));
  EXPECT_EQ(dropped(Drop::kUnknownTuple), 2u);
  EXPECT_EQ(dropped(Drop::kNotStun), 1u);
  EXPECT_EQ(dropped(Drop::kBadStun), 1u);
  EXPECT_TRUE(session_.dtls.empty());
  EXPECT_TRUE(session_.rtp.empty());
  EXPECT_FALSE(c.recvDatagram());  // no response to an unknown ufrag
  EXPECT_EQ(transport_->tupleCount(), 0u);
}

TEST_F(WorkerTransportTest, CheckedTupleRoutesDtlsRtpRtcpToTheSession) {
  Client c;
  c.bindLoopback();
  c.sendTo(udpAddr_, check(true));
  auto resp = awaitDatagram(c);
  ASSERT_TRUE(resp);
  const auto msg = stun::StunMessage::parse(*resp);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->messageClass(), stun::MessageClass::kSuccessResponse);
  EXPECT_EQ(net::SocketAddress::fromStun(*msg->xorMappedAddress()), c.local);
  EXPECT_EQ(stun::checkMessageIntegrity(*msg, stun::keyBytes(agent_.localPassword())),
            stun::IntegrityResult::kOk);
  ASSERT_EQ(session_.selected.size(), 1u);
  EXPECT_EQ(session_.selected[0].remote, c.local);

  c.sendTo(udpAddr_, bytes({22, 0xFE, 0xFD, 0}, 50));
  c.sendTo(udpAddr_, bytes({0x80, 96, 0, 1}, 100));
  c.sendTo(udpAddr_, bytes({0x81, 200, 0, 6}, 28));
  c.sendTo(udpAddr_, bytes({0x80, 96}, 6));  // too short for RTP
  ASSERT_TRUE(test::runUntil(d_, [&] { return dropped(Drop::kShortPacket) == 1; }));
  ASSERT_EQ(session_.dtls.size(), 1u);
  EXPECT_EQ(session_.dtls[0].size(), 50u);
  ASSERT_EQ(session_.rtp.size(), 1u);
  ASSERT_EQ(session_.rtcp.size(), 1u);

  // Another port of the same host has passed no check.
  Client other;
  other.bindLoopback();
  other.sendTo(udpAddr_, bytes({22, 0xFE, 0xFD, 0}, 50));
  ASSERT_TRUE(test::runUntil(d_, [&] { return dropped(Drop::kUnknownTuple) == 1; }));
  EXPECT_EQ(session_.dtls.size(), 1u);

  // Media out on the selected pair.
  const auto out = bytes({0x80, 111}, 60);
  ASSERT_TRUE(transport_->send(*agent_.selectedPair(), out.data(), out.size()));
  EXPECT_EQ(awaitDatagram(c), out);
}

TEST_F(WorkerTransportTest, BadCredentialsFromAKnownUfragAreAnsweredNotRouted) {
  Client c;
  c.bindLoopback();
  test::BindingRequestSpec s;
  s.username = agent_.localUfrag() + ":peer";
  s.password = "wrong-password-wrong-password";
  c.sendTo(udpAddr_, test::bindingRequest(s));
  auto resp = awaitDatagram(c);
  ASSERT_TRUE(resp);
  EXPECT_EQ(stun::StunMessage::parse(*resp)->errorCode()->code, 401);
  EXPECT_EQ(dropped(Drop::kIceRejected), 1u);
  EXPECT_EQ(agent_.counters().rejected(IceLite::Reject::kBadIntegrity), 1u);
  c.sendTo(udpAddr_, bytes({22, 0xFE, 0xFD, 0}, 50));
  ASSERT_TRUE(test::runUntil(d_, [&] { return dropped(Drop::kUnknownTuple) == 1; }));
}

TEST_F(WorkerTransportTest, IceRestartRekeysAndRemoveSessionForgetsTuples) {
  Client c;
  c.bindLoopback();
  c.sendTo(udpAddr_, check(true));
  ASSERT_TRUE(awaitDatagram(c));
  const std::string oldUfrag = agent_.localUfrag();
  transport_->restartIce(agent_, "peer", "peerpasswordpeerpassword");
  EXPECT_NE(agent_.localUfrag(), oldUfrag);
  EXPECT_EQ(transport_->tupleCount(), 1u);  // the selected pair keeps carrying media

  test::BindingRequestSpec s;
  s.username = oldUfrag + ":peer";
  s.password = agent_.localPassword();
  Client moved;
  moved.bindLoopback();
  moved.sendTo(udpAddr_, test::bindingRequest(s));
  ASSERT_TRUE(test::runUntil(d_, [&] { return dropped(Drop::kUnknownUfrag) == 1; }));
  moved.sendTo(udpAddr_, check(true));
  ASSERT_TRUE(awaitDatagram(moved));
  EXPECT_EQ(agent_.selectedPair()->remote, moved.local);
  EXPECT_EQ(transport_->tupleCount(), 2u);

  transport_->removeSession(agent_);
  EXPECT_EQ(transport_->tupleCount(), 0u);
  EXPECT_EQ(transport_->sessionCount(), 0u);
  moved.sendTo(udpAddr_, bytes({22, 0xFE, 0xFD, 0}, 50));
  ASSERT_TRUE(test::runUntil(d_, [&] { return dropped(Drop::kUnknownTuple) == 1; }));
}

TEST_F(WorkerTransportTest, IceTcpCheckThenFramedDtlsOnTheSameConnection) {
  Client c(SOCK_STREAM);
  const auto tcpAddr = transport_->tcpListener(0).localAddress();
  ASSERT_EQ(::connect(c.fd, tcpAddr.sockaddrPtr(), tcpAddr.sockaddrLength()), 0);
  auto framed = [](const std::vector<uint8_t>& b) {
    std::vector<uint8_t> f{static_cast<uint8_t>(b.size() >> 8), static_cast<uint8_t>(b.size())};
    f.insert(f.end(), b.begin(), b.end());
    return f;
  };
  auto req = framed(check(true));
  auto dtls = framed(bytes({22, 0xFE, 0xFD, 0}, 70));
  req.insert(req.end(), dtls.begin(), dtls.end());  // check and DTLS in one write
  ASSERT_EQ(::send(c.fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  ASSERT_TRUE(test::runUntil(d_, [&] { return session_.dtls.size() == 1; }));
  ASSERT_EQ(session_.selected.size(), 1u);
  EXPECT_EQ(session_.selected[0].protocol, net::TransportProtocol::kTcp);

  uint8_t hdr[2];
  ASSERT_EQ(::recv(c.fd, hdr, 2, MSG_WAITALL), 2);
  std::vector<uint8_t> resp((hdr[0] << 8) | hdr[1]);
  ASSERT_EQ(::recv(c.fd, resp.data(), resp.size(), MSG_WAITALL), static_cast<ssize_t>(resp.size()));
  const auto msg = stun::StunMessage::parse(resp);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->messageClass(), stun::MessageClass::kSuccessResponse);

  // The connection closing removes the pair.
  ::shutdown(c.fd, SHUT_RDWR);
  ASSERT_TRUE(test::runUntil(d_, [&] { return transport_->tupleCount() == 0; }));
  EXPECT_EQ(agent_.selectedPair(), nullptr);
}

}  // namespace
}  // namespace medrelay::media
