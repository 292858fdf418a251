// The peer-address refusal matrix (interop notes, "Security cases for TURN"): every address,
// on IPv4 and IPv6 allocations, for CreatePermission, ChannelBind and Send; with the default
// policy and with a broad operator allow list (0.0.0.0/0, ::/0), which must not open them.
#include <gtest/gtest.h>

#include "tests/support/turn_refused_peers.h"
#include "tests/support/turn_server_fixture.h"

namespace medrelay::net::turn {
namespace {

using namespace stun;
using testing::kRefusedPeers;
using testing::TurnServerTest;

class TurnRefusalMatrixTest : public TurnServerTest,
                              public ::testing::WithParamInterface<std::tuple<bool, bool>> {};

TEST_P(TurnRefusalMatrixTest, EveryRefusedPeerOnEveryPath) {
  const auto [ipv6Allocation, broadAllow] = GetParam();
  make(broadAllow ? std::vector<std::string>{"0.0.0.0/0", "::/0"} : std::vector<std::string>{});
  auto c = client();
  const auto family = ipv6Allocation ? StunAddress::Family::kIPv6 : StunAddress::Family::kIPv4;
  ASSERT_TRUE(allocate(c, udp_, family));
  uint16_t channel = 0x4000;
  size_t checked = 0;
  for (const char* ip : kRefusedPeers) {
    const auto peer = SocketAddress::fromIp(ip, 3478)->toStun();
    EXPECT_EQ(createPermission(c, peer, udp_), 403) << ip;
    EXPECT_EQ(channelBind(c, channel++, peer, udp_), 403) << ip;
    const auto refusedBefore = server_->counters().peerRefused;
    const auto ind = sendIndication(c, peer, {1, 2, 3, 4});
    server_->onClientPacket(udp_, ind.data(), ind.size());
    EXPECT_EQ(server_->counters().peerRefused, refusedBefore + 1) << ip;
    ++checked;
  }
  EXPECT_EQ(checked, std::size(kRefusedPeers));
  EXPECT_TRUE(relays_.sent.empty());
  EXPECT_EQ(metrics_.permissions_active.value(), 0);
  EXPECT_EQ(metrics_.channels_active.value(), 0);
  // A public peer of the allocation's family is allowed only with the broad allow list.
  const auto pub = SocketAddress::fromIp(ipv6Allocation ? "2001:4860::8888" : "8.8.8.8", 53);
  EXPECT_EQ(createPermission(c, pub->toStun(), udp_), broadAllow ? 200 : 403);
}

INSTANTIATE_TEST_SUITE_P(AllocationFamilyAndPolicy, TurnRefusalMatrixTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()));

TEST_F(TurnServerTest, PeerFamilyMismatchIs443ForAllowedPeers) {
  make({"198.51.100.0/24", "2001:db8:1::/48"});
  auto c = client();
  ASSERT_TRUE(allocate(c, udp_));
  const auto v6 = SocketAddress::fromIp("2001:db8:1::5", 9)->toStun();
  EXPECT_EQ(createPermission(c, v6, udp_), 443);
  EXPECT_EQ(channelBind(c, 0x4000, v6, udp_), 443);
}

}  // namespace
}  // namespace medrelay::net::turn
