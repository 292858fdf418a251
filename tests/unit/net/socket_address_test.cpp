#include "net/socket_address.h"

#include <gtest/gtest.h>

#include <unordered_set>

namespace medrelay::net {
namespace {

TEST(SocketAddressTest, ParsesAndPrintsIpv4AndIpv6) {
  const auto a = SocketAddress::parse("127.0.0.1:5000");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->isIpv4());
  EXPECT_EQ(a->port(), 5000);
  EXPECT_EQ(a->toString(), "127.0.0.1:5000");
  const auto b = SocketAddress::parse("[2001:db8::1]:443");
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->isIpv6());
  EXPECT_EQ(b->toString(), "[2001:db8::1]:443");
  EXPECT_TRUE(SocketAddress::parse("0.0.0.0:0")->isWildcard());
  EXPECT_TRUE(SocketAddress::parse("[::]:1")->isWildcard());
}

TEST(SocketAddressTest, RejectsMalformed) {
  for (const char* bad :
       {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "1.2.3:4", "::1:5", "[::1]", "[::1]5",
        "[127.0.0.1]:5", "host:80", "1.2.3.4:-1", "1.2.3.4:5x"}) {
    EXPECT_FALSE(SocketAddress::parse(bad)) << bad;
  }
}

TEST(SocketAddressTest, EqualityHashAndStunRoundTrip) {
  const auto a = *SocketAddress::parse("192.0.2.1:1000");
  const auto b = *SocketAddress::parse("192.0.2.1:1001");
  const auto c = *SocketAddress::parse("[::ffff:192.0.2.1]:1000");
  EXPECT_FALSE(a == b);
  EXPECT_FALSE(a == c);  // IPv4-mapped IPv6 is a different socket address
  EXPECT_EQ(SocketAddress::fromStun(a.toStun()), a);
  EXPECT_EQ(SocketAddress::fromStun(c.toStun()), c);
  std::unordered_set<SocketAddress, SocketAddressHash> set{a, b, c, a};
  EXPECT_EQ(set.size(), 3u);

  TransportTuple t1{TransportProtocol::kUdp, 0, 0, a};
  TransportTuple t2{TransportProtocol::kTcp, 0, 7, a};
  EXPECT_FALSE(t1 == t2);
  std::unordered_set<TransportTuple, TransportTupleHash> tuples{t1, t2, t1};
  EXPECT_EQ(tuples.size(), 2u);
  EXPECT_EQ(t2.toString(), "tcp#7 192.0.2.1:1000");
}

}  // namespace
}  // namespace medrelay::net
