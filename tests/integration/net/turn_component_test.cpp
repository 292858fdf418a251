// TurnComponent over real loopback sockets: credentials minted by the component authenticate,
// the relayed socket really relays to an allow-listed UDP peer, and revokeInvite() tears the
// allocation down at once (the next Refresh is 437).
#include "server/turn_component.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/app.h"
#include "tests/support/turn_test_util.h"

namespace medrelay::server {
namespace {

using namespace net::stun;

class UdpClient {
 public:
  UdpClient() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    auto a = *net::SocketAddress::fromIp("127.0.0.1", 0);
    ::bind(fd_, a.sockaddrPtr(), a.sockaddrLength());
    socklen_t len = net::SocketAddress::capacity();
    getsockname(fd_, local_.mutableSockaddr(), &len);
  }
  ~UdpClient() { ::close(fd_); }
  void sendTo(const net::SocketAddress& to, const std::vector<uint8_t>& b) {
    ::sendto(fd_, b.data(), b.size(), 0, to.sockaddrPtr(), to.sockaddrLength());
  }
  std::vector<uint8_t> recv(int timeoutMs = 2000) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeoutMs) != 1) return {};
    std::vector<uint8_t> b(4096);
    const auto n = ::recv(fd_, b.data(), b.size(), 0);
    b.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return b;
  }
  const net::SocketAddress& local() const { return local_; }

 private:
  int fd_ = -1;
  net::SocketAddress local_;
};

TEST(TurnComponentTest, MintedCredentialsRelayAndRevokeTearsDown) {
  Config c = Config::defaults();
  c.media.workers = 1;
  c.media.udp_port = 0;
  c.turn.udp_listen = "127.0.0.1:0";
  c.turn.secrets = {"component-test-secret-01", "older-secret-0123456789"};
  c.turn.allow_peers = {"127.0.0.1/32"};
  App app(c);
  TurnComponent turn(app);
  ASSERT_TRUE(turn.start().ok());
  const auto server = *net::SocketAddress::fromIp("127.0.0.1", turn.udpPort());
  ASSERT_EQ(turn.uris().size(), 1u);
  EXPECT_EQ(turn.uris()[0], "turn:127.0.0.1:" + std::to_string(turn.udpPort()) + "?transport=udp");

  const auto creds = turn.mintCredentials("inv-7", time(nullptr) + 600);
  testing::TurnTestClient tc;
  tc.username = creds.username;
  tc.password = creds.password;
  UdpClient client;
  UdpClient peer;
  auto ask = [&](std::vector<uint8_t> req) {
    client.sendTo(server, req);
    auto bytes = client.recv();
    return bytes;
  };
  auto first = ask(tc.request(
      method::kAllocate,
      [](StunBuilder& b) {
        b.addRequestedTransport(kTransportUdp);
        b.addString(attr::kSoftware, "component-test-client");
      },
      false));
  auto m = StunMessage::parse(first);
  ASSERT_TRUE(m && m->nonce());
  tc.nonce = std::string(*m->nonce());
  auto okBytes = ask(tc.request(method::kAllocate,
                                [](StunBuilder& b) { b.addRequestedTransport(kTransportUdp); }));
  m = StunMessage::parse(okBytes);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->messageClass(), MessageClass::kSuccessResponse);
  const auto relayed = net::SocketAddress::fromStun(*m->xorRelayedAddress());
  EXPECT_EQ(relayed.ipString(), "127.0.0.1");

  // Permission for the peer, then a Send indication really leaves the relayed socket.
  auto perm = ask(tc.request(method::kCreatePermission, [&](StunBuilder& b) {
    b.addXorAddress(attr::kXorPeerAddress, peer.local().toStun());
  }));
  ASSERT_EQ(StunMessage::parse(perm)->messageClass(), MessageClass::kSuccessResponse);
  client.sendTo(server, tc.request(
                            method::kSend,
                            [&](StunBuilder& b) {
                              b.addXorAddress(attr::kXorPeerAddress, peer.local().toStun());
                              b.addAttribute(attr::kData, std::vector<uint8_t>{'h', 'i'});
                            },
                            false, MessageClass::kIndication));
  EXPECT_EQ(peer.recv(), (std::vector<uint8_t>{'h', 'i'}));
  // And back: the peer's datagram arrives as a Data indication.
  peer.sendTo(relayed, {'y', 'o'});
  auto data = client.recv();
  m = StunMessage::parse(data);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->method(), method::kData);
  EXPECT_EQ(m->data()->size(), 2u);

  // Revocation (from the control thread) tears the allocation down at once.
  turn.revokeInvite("inv-7");
  turn.thread().runSync([] {});  // posts run in order: the revocation has happened
  auto refreshed = ask(tc.request(method::kRefresh, nullptr));
  m = StunMessage::parse(refreshed);
  ASSERT_TRUE(m);
  ASSERT_EQ(m->messageClass(), MessageClass::kErrorResponse);
  // The allocation is gone and the invite's credentials are refused from now on (RFC 8656 §7.3
  // checks the credentials before the allocation).
  EXPECT_EQ(m->errorCode()->code, 401);
  peer.sendTo(relayed, {'x'});
  EXPECT_TRUE(client.recv(300).empty());
  turn.stop();
}

}  // namespace
}  // namespace medrelay::server
