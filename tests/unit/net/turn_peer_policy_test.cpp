// PeerPolicy: CIDR parsing, the always-refused ranges, IPv4-in-IPv6 normalisation, allow/deny.
#include <gtest/gtest.h>

#include "net/turn/peer_policy.h"
#include "tests/support/turn_refused_peers.h"

namespace medrelay::net::turn {
namespace {

stun::StunAddress addr(const char* ip, uint16_t port = 3478) {
  return SocketAddress::fromIp(ip, port)->toStun();
}

TEST(CidrTest, Parse) {
  EXPECT_TRUE(Cidr::parse("10.0.0.0/8"));
  EXPECT_TRUE(Cidr::parse("fe80::/10"));
  EXPECT_EQ(Cidr::parse("1.2.3.4")->prefix, 32);
  EXPECT_EQ(Cidr::parse("::1")->prefix, 128);
  EXPECT_FALSE(Cidr::parse("10.0.0.0/33"));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/"));
  EXPECT_FALSE(Cidr::parse("10.0.0/8"));
  EXPECT_FALSE(Cidr::parse("example.com"));
  EXPECT_TRUE(Cidr::parse("10.0.0.0/8")->contains(addr("10.255.0.1")));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/8")->contains(addr("11.0.0.1")));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/8")->contains(addr("::ffff:10.0.0.1")));  // family
}

TEST(PeerPolicyTest, NormalizesEveryIpv4InIpv6Form) {
  const auto lo = addr("127.0.0.1");
  for (const char* form : {"::ffff:127.0.0.1", "::127.0.0.1", "64:ff9b::7f00:1",
                           "64:ff9b:1::7f00:1", "2002:7f00:1::1"}) {
    const auto n = PeerPolicy::normalize(addr(form));
    EXPECT_EQ(n.family, stun::StunAddress::Family::kIPv4) << form;
    EXPECT_EQ(n.ip, lo.ip) << form;
    EXPECT_EQ(n.port, 3478) << form;
  }
  EXPECT_EQ(PeerPolicy::normalize(addr("2001:4860::1")).family, stun::StunAddress::Family::kIPv6);
}

TEST(PeerPolicyTest, DefaultRefusesEverythingButOwnAddresses) {
  auto p = PeerPolicy::create({}, {}).value();
  EXPECT_EQ(p.check(addr("8.8.8.8")), PeerPolicy::Verdict::kNotAllowed);
  EXPECT_EQ(p.check(addr("2001:4860::8888")), PeerPolicy::Verdict::kNotAllowed);
  p.addOwnAddress(*SocketAddress::fromIp("127.0.0.1", 40000));
  EXPECT_EQ(p.check(addr("127.0.0.1", 40000)), PeerPolicy::Verdict::kOwnAddress);
  EXPECT_EQ(p.check(addr("127.0.0.1", 40001)), PeerPolicy::Verdict::kRefusedRange);
  EXPECT_EQ(p.check(addr("::ffff:127.0.0.1", 40000)), PeerPolicy::Verdict::kRefusedRange);
}

TEST(PeerPolicyTest, EveryRefusedAddressStaysRefusedUnderABroadAllow) {
  auto p = PeerPolicy::create({"0.0.0.0/0", "::/0"}, {}).value();
  for (const char* ip : testing::kRefusedPeers) {
    EXPECT_FALSE(p.allowed(addr(ip))) << ip;
  }
  EXPECT_TRUE(p.allowed(addr("8.8.8.8")));
  EXPECT_TRUE(p.allowed(addr("2001:4860::8888")));
}

TEST(PeerPolicyTest, ExplicitAllowOpensARefusedRangeOnly) {
  auto p = PeerPolicy::create({"127.0.0.1/32"}, {}).value();
  EXPECT_EQ(p.check(addr("127.0.0.1")), PeerPolicy::Verdict::kAllowed);
  EXPECT_EQ(p.check(addr("::ffff:127.0.0.1")), PeerPolicy::Verdict::kAllowed);  // same target
  EXPECT_FALSE(p.allowed(addr("127.0.0.2")));
  EXPECT_FALSE(p.allowed(addr("10.0.0.1")));
  EXPECT_FALSE(p.allowed(addr("8.8.8.8")));
  auto q = PeerPolicy::create({"10.1.0.0/16", "fd00::/8"}, {}).value();
  EXPECT_TRUE(q.allowed(addr("10.1.2.3")));
  EXPECT_TRUE(q.allowed(addr("fd00::1")));
  EXPECT_FALSE(q.allowed(addr("10.2.0.1")));
}

TEST(PeerPolicyTest, DenyWinsOverAllowIncludingEmbeddedForms) {
  auto p = PeerPolicy::create({"0.0.0.0/0", "::/0"}, {"8.8.8.0/24"}).value();
  EXPECT_EQ(p.check(addr("8.8.8.8")), PeerPolicy::Verdict::kDenied);
  EXPECT_EQ(p.check(addr("::ffff:8.8.8.8")), PeerPolicy::Verdict::kDenied);
  EXPECT_EQ(p.check(addr("64:ff9b::808:808")), PeerPolicy::Verdict::kDenied);
  EXPECT_TRUE(p.allowed(addr("8.8.4.4")));
}

TEST(PeerPolicyTest, BadCidrIsAnError) {
  EXPECT_FALSE(PeerPolicy::create({"nope"}, {}).ok());
  EXPECT_FALSE(PeerPolicy::create({}, {"1.2.3.4/40"}).ok());
}

}  // namespace
}  // namespace medrelay::net::turn
