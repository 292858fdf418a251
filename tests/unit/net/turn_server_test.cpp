// TURN protocol through the server's datagram entry point (TurnServer::onClientPacket):
// every method and error code, REST credentials, nonces, quotas, amplification.
#include "net/turn/turn_server.h"

#include <gtest/gtest.h>

#include "net/stun/channel_data.h"
#include "tests/support/turn_server_fixture.h"

namespace medrelay::net::turn {
namespace {

using namespace stun;
using testing::FakeRelays;
using testing::kSecret;
using testing::TurnServerTest;
using testing::TurnTestClient;

TEST_F(TurnServerTest, BindingNeedsNoAuthAndStaysSmall) {
  make();
  TurnTestClient c;
  const auto req = c.request(method::kBinding, nullptr, false);
  auto r = send(req);
  ASSERT_TRUE(success(r));
  EXPECT_EQ(r->xorMappedAddress(), udp_.remote.toStun());
  EXPECT_LE(last_.size(), 1.6 * req.size());
  EXPECT_FALSE(r->has(attr::kSoftware));
}

TEST_F(TurnServerTest, AllocateRoundTripAndRetransmission) {
  make();
  auto c = client();
  c.fingerprint = true;
  challenge(c, udp_);
  const auto req =
      c.request(method::kAllocate, [](StunBuilder& b) { b.addRequestedTransport(kTransportUdp); });
  auto r = send(req);
  ASSERT_TRUE(success(r));
  EXPECT_EQ(checkFingerprint(*r), IntegrityResult::kOk);
  const auto relayed = r->xorRelayedAddress();
  ASSERT_TRUE(relayed);
  EXPECT_EQ(server_->allocationCount(), 1u);
  EXPECT_EQ(metrics_.allocations_active[metrics::Transport::kUdp].value(), 1);
  // Same transaction again: same answer, still one allocation (RFC 8656 §7.2).
  r = send(req);
  ASSERT_TRUE(success(r));
  EXPECT_EQ(r->xorRelayedAddress(), relayed);
  EXPECT_EQ(server_->allocationCount(), 1u);
  // A new Allocate on the same 5-tuple: 437.
  r = send(
      c.request(method::kAllocate, [](StunBuilder& b) { b.addRequestedTransport(kTransportUdp); }));
  EXPECT_EQ(code(r), 437);
}

TEST_F(TurnServerTest, AllocateErrors) {
  make();
  auto c = client();
  challenge(c, udp_);
  EXPECT_EQ(code(send(c.request(method::kAllocate, nullptr))), 400);  // no REQUESTED-TRANSPORT
  EXPECT_EQ(
      code(send(c.request(method::kAllocate,
                          [](StunBuilder& b) {
                            b.addRequestedTransport(kTransportTcp);  // RFC 6062 refused cleanly
                          }))),
      442);
  relays_.ipv6 = false;
  EXPECT_EQ(code(send(c.request(method::kAllocate,
                                [](StunBuilder& b) {
                                  b.addRequestedTransport(kTransportUdp);
                                  b.addAddressFamily(attr::kRequestedAddressFamily,
                                                     StunAddress::Family::kIPv6);
                                }))),
            440);
  EXPECT_EQ(code(send(c.request(method::kAllocate,
                                [](StunBuilder& b) {
                                  b.addRequestedTransport(kTransportUdp);
                                  b.addU64(attr::kReservationToken, 42);
                                }))),
            508);
  relays_.failOpen = true;
  EXPECT_EQ(code(send(c.request(method::kAllocate,
                                [](StunBuilder& b) { b.addRequestedTransport(kTransportUdp); }))),
            508);
  EXPECT_EQ(server_->allocationCount(), 0u);
  // Connect (RFC 6062) is not offered.
  EXPECT_EQ(code(send(c.request(method::kConnect, nullptr))), 400);
}

TEST_F(TurnServerTest, UnknownComprehensionRequiredAttributeIs420) {
  make();
  auto c = client();
  auto r = send(c.request(method::kAllocate, [](StunBuilder& b) {
    b.addRequestedTransport(kTransportUdp);
    b.addU32(0x7777, 1);
  }));
  ASSERT_EQ(code(r), 420);
  std::array<uint16_t, 4> types{};
  ASSERT_EQ(r->unknownAttributes(types), 1u);
  EXPECT_EQ(types[0], 0x7777);
}

TEST_F(TurnServerTest, WrongPasswordExpiredAndUnknownSecret) {
  make();
  auto c = client();
  challenge(c, udp_);
  auto alloc = [&](TurnTestClient& t) {
    return code(send(t.request(method::kAllocate,
                               [](StunBuilder& b) { b.addRequestedTransport(kTransportUdp); })));
  };
  auto wrong = c;
  wrong.password = "nope";
  EXPECT_EQ(alloc(wrong), 401);
  EXPECT_EQ(metrics_.auth_failures[metrics::TurnAuthFailure::kBadIntegrity].value(), 1u);
  auto other = client("inv1", 3600, "another-secret-0123456");
  other.nonce = c.nonce;
  EXPECT_EQ(alloc(other), 401);
  auto expired = client("inv1", -5);
  expired.nonce = c.nonce;
  EXPECT_EQ(alloc(expired), 401);
  EXPECT_EQ(metrics_.auth_failures[metrics::TurnAuthFailure::kExpired].value(), 1u);
  auto garbage = c;
  garbage.username = "not-a-rest-username";
  EXPECT_EQ(alloc(garbage), 401);
  EXPECT_EQ(server_->allocationCount(), 0u);
  EXPECT_EQ(alloc(c), 0);  // the right one works
  EXPECT_EQ(server_->allocationCount(), 1u);
}

TEST_F(TurnServerTest, RotatedSecretsAreAccepted) {
  make({}, [](TurnServerOptions& o) { o.secrets = {"new-secret-0123456789", kSecret}; });
  auto oldCreds = client("inv1", 3600, kSecret);
  auto newCreds = client("inv2", 3600, "new-secret-0123456789");
  EXPECT_TRUE(allocate(oldCreds, udp_));
  EXPECT_TRUE(allocate(newCreds, udpFrom("203.0.113.8", 1)));
  server_->setSecrets({"new-secret-0123456789"});
  auto r = send(oldCreds.request(method::kRefresh, nullptr));
  EXPECT_EQ(code(r), 401);  // the retired secret no longer verifies
}

TEST_F(TurnServerTest, StaleAndForgedNoncesAre438) {
  make({}, [](TurnServerOptions& o) { o.nonceLifetime = 60; });
  auto c = client();
  challenge(c, udp_);
  unix_ += 61;
  auto r = send(
      c.request(method::kAllocate, [](StunBuilder& b) { b.addRequestedTransport(kTransportUdp); }));
  ASSERT_EQ(code(r), 438);
  ASSERT_TRUE(r->nonce());
  EXPECT_NE(std::string(*r->nonce()), c.nonce);  // a fresh one to retry with
  c.nonce = "AAAAAAAAAAAAAAAAAAAA";              // forged
  EXPECT_EQ(code(send(c.request(method::kAllocate,
                                [](StunBuilder& b) { b.addRequestedTransport(kTransportUdp); }))),
            438);
  // A nonce issued to another IP does not transfer (bound to the client address).
  challenge(c, udpFrom("203.0.113.99", 1));
  EXPECT_EQ(code(send(c.request(method::kAllocate,
                                [](StunBuilder& b) { b.addRequestedTransport(kTransportUdp); }))),
            438);
}

TEST_F(TurnServerTest, MissingRealmOrNonceWithIntegrityIs400) {
  make();
  auto c = client();
  std::vector<uint8_t> buf(512);
  StunBuilder b(buf, MessageClass::kRequest, method::kAllocate, c.nextTid());
  b.addRequestedTransport(kTransportUdp);
  b.addString(attr::kUsername, c.username);
  b.addMessageIntegrity(keyBytes("whatever"));
  auto w = b.finish();
  EXPECT_EQ(code(send(std::vector<uint8_t>(w->begin(), w->end()))), 400);
}

TEST_F(TurnServerTest, AttributesAfterIntegrityAreIgnored) {
  make();
  auto c = client();
  challenge(c, udp_);
  auto req =
      c.request(method::kAllocate, [](StunBuilder& b) { b.addRequestedTransport(kTransportUdp); });
  // Append a LIFETIME after MESSAGE-INTEGRITY: must not be processed (RFC 8489 §14.5).
  const uint8_t lifetime[] = {0x00, 0x0D, 0x00, 0x04, 0x00, 0x00, 0x00, 0x05};
  req.insert(req.end(), lifetime, lifetime + 8);
  req[2] = static_cast<uint8_t>((req.size() - 20) >> 8);
  req[3] = static_cast<uint8_t>(req.size() - 20);
  auto r = send(req);
  ASSERT_TRUE(success(r));
  EXPECT_EQ(r->lifetime(), 600u);
}

TEST_F(TurnServerTest, RefreshLifetimesAndExpiry) {
  make();
  auto c = client("inv1", 10000);
  ASSERT_TRUE(allocate(c, udp_));
  auto r =
      send(c.request(method::kRefresh, [](StunBuilder& b) { b.addU32(attr::kLifetime, 99999); }));
  ASSERT_TRUE(success(r));
  EXPECT_EQ(r->lifetime(), 3600u);  // clamped to the maximum
  nowMs_ += 3599 * 1000;
  server_->sweep();
  EXPECT_EQ(server_->allocationCount(), 1u);
  nowMs_ += 2000;
  server_->sweep();
  EXPECT_EQ(server_->allocationCount(), 0u);
  EXPECT_EQ(code(send(c.request(method::kRefresh, nullptr))), 437);
}

TEST_F(TurnServerTest, RefreshZeroDeletesAndLifetimeEndsWithCredential) {
  make();
  auto c = client("inv1", 120);  // credential valid for 2 more minutes
  ASSERT_TRUE(allocate(c, udp_));
  auto r = send(c.request(method::kRefresh, nullptr));
  ASSERT_TRUE(success(r));
  EXPECT_EQ(r->lifetime(), 120u);  // not past the invite's window
  r = send(c.request(method::kRefresh, [](StunBuilder& b) { b.addU32(attr::kLifetime, 0); }));
  ASSERT_TRUE(success(r));
  EXPECT_EQ(r->lifetime(), 0u);
  EXPECT_EQ(server_->allocationCount(), 0u);
  EXPECT_TRUE(relays_.live.empty());
}

TEST_F(TurnServerTest, ExpiredCredentialIs401OnRefresh) {
  make();
  auto c = client("inv1", 100);
  ASSERT_TRUE(allocate(c, udp_));
  unix_ += 101;
  EXPECT_EQ(code(send(c.request(method::kRefresh, nullptr))), 401);
}

TEST_F(TurnServerTest, WrongUsernameOnAllocationIs441) {
  make();
  auto c = client("inv1");
  ASSERT_TRUE(allocate(c, udp_));
  auto d = client("inv2");
  d.nonce = c.nonce;
  EXPECT_EQ(code(send(d.request(method::kRefresh, nullptr))), 441);
  EXPECT_EQ(createPermission(d, peer_, udp_), 441);
}

TEST_F(TurnServerTest, PermissionChannelSendDataAndChannelData) {
  make();
  auto c = client();
  const auto relayed = allocate(c, udp_);
  ASSERT_TRUE(relayed);
  const auto relayedAddr = SocketAddress::fromStun(*relayed);
  const auto peerAddr = SocketAddress::fromStun(peer_);

  // No permission: Send is dropped, peer data is dropped.
  const auto early = sendIndication(c, peer_, {1, 2, 3});
  server_->onClientPacket(udp_, early.data(), early.size());
  EXPECT_TRUE(relays_.sent.empty());
  EXPECT_EQ(server_->counters().noPermission, 1u);

  ASSERT_EQ(createPermission(c, peer_, udp_), 200);
  EXPECT_EQ(metrics_.permissions_active.value(), 1);
  const auto ind = sendIndication(c, peer_, {1, 2, 3});
  server_->onClientPacket(udp_, ind.data(), ind.size());
  ASSERT_EQ(relays_.sent.size(), 1u);
  EXPECT_EQ(relays_.sent[0].to, peerAddr);
  EXPECT_EQ(relays_.sent[0].bytes, (std::vector<uint8_t>{1, 2, 3}));

  // Peer → client without a channel: Data indication.
  sink_.packets.clear();
  ASSERT_TRUE(relays_.deliver(relayedAddr, peerAddr, {9, 8, 7, 6, 5}));
  ASSERT_EQ(sink_.packets.size(), 1u);
  auto data = StunMessage::parse(sink_.packets[0].bytes);
  ASSERT_TRUE(data);
  EXPECT_EQ(data->method(), method::kData);
  EXPECT_EQ(data->messageClass(), MessageClass::kIndication);
  EXPECT_EQ(data->xorPeerAddress(), peer_);
  EXPECT_EQ(data->data()->size(), 5u);

  // Peer from an IP without permission: dropped.
  sink_.packets.clear();
  relays_.deliver(relayedAddr, *SocketAddress::fromIp("198.51.100.21", 5000), {1});
  EXPECT_TRUE(sink_.packets.empty());

  // Channel: ChannelData both ways.
  ASSERT_EQ(channelBind(c, 0x4001, peer_, udp_), 200);
  EXPECT_EQ(metrics_.channels_active.value(), 1);
  const uint8_t cd[] = {0x40, 0x01, 0x00, 0x02, 0xAA, 0xBB};
  relays_.sent.clear();
  server_->onClientPacket(udp_, cd, sizeof(cd));
  ASSERT_EQ(relays_.sent.size(), 1u);
  EXPECT_EQ(relays_.sent[0].bytes, (std::vector<uint8_t>{0xAA, 0xBB}));
  sink_.packets.clear();
  relays_.deliver(relayedAddr, peerAddr, {1, 2, 3, 4, 5});
  ASSERT_EQ(sink_.packets.size(), 1u);
  const auto back = parseChannelData(sink_.packets[0].bytes, Framing::kDatagram);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->channel, 0x4001);
  EXPECT_EQ(back->data.size(), 5u);
  EXPECT_EQ(sink_.packets[0].bytes.size(), 9u);  // UDP: no padding
  EXPECT_EQ(metrics_.relayed_packets[metrics::Direction::kIn].value(), 2u);
  EXPECT_EQ(metrics_.relayed_packets[metrics::Direction::kOut].value(), 2u);

  // Unbound channel number: dropped.
  const uint8_t cd2[] = {0x40, 0x02, 0x00, 0x01, 0xAA};
  relays_.sent.clear();
  server_->onClientPacket(udp_, cd2, sizeof(cd2));
  EXPECT_TRUE(relays_.sent.empty());
  EXPECT_EQ(server_->counters().noChannel, 1u);
}

TEST_F(TurnServerTest, ChannelBindConflictsAndExpiry) {
  make();
  auto c = client();
  ASSERT_TRUE(allocate(c, udp_));
  auto other = SocketAddress::fromIp("198.51.100.30", 6000)->toStun();
  ASSERT_EQ(channelBind(c, 0x4000, peer_, udp_), 200);
  EXPECT_EQ(channelBind(c, 0x4000, peer_, udp_), 200);  // refresh
  EXPECT_EQ(channelBind(c, 0x4000, other, udp_), 400);  // number bound to another peer
  EXPECT_EQ(channelBind(c, 0x4001, peer_, udp_), 400);  // peer bound to another number
  EXPECT_EQ(channelBind(c, 0x3FFF, other, udp_), 400);  // out of range
  // RFC 5766 clients (coturn) still use 0x5000-0x7FFF: accepted; 0x8000 is not a channel.
  EXPECT_EQ(channelBind(c, 0x7FFF, SocketAddress::fromIp("198.51.100.31", 1)->toStun(), udp_), 200);
  EXPECT_EQ(channelBind(c, 0x8000, SocketAddress::fromIp("198.51.100.32", 1)->toStun(), udp_), 400);
  // Channels last 10 min, permissions 5 min (RFC 8656 §9, §12).
  nowMs_ += 301 * 1000;
  server_->sweep();
  EXPECT_EQ(metrics_.permissions_active.value(), 0);
  EXPECT_EQ(metrics_.channels_active.value(), 2);
  const uint8_t cd[] = {0x40, 0x00, 0x00, 0x01, 0xAA};
  server_->onClientPacket(udp_, cd, sizeof(cd));
  EXPECT_TRUE(relays_.sent.empty());  // the permission lapsed
  nowMs_ += 300 * 1000;
  server_->sweep();
  EXPECT_EQ(metrics_.channels_active.value(), 0);
}

TEST_F(TurnServerTest, TcpChannelDataIsPadded) {
  make();
  auto c = client();
  ClientTuple tcp = udp_;
  tcp.transport = ClientTransport::kTcp;
  tcp.connectionId = 7;
  const auto relayed = allocate(c, tcp);
  ASSERT_TRUE(relayed);
  ASSERT_EQ(channelBind(c, 0x4005, peer_, tcp), 200);
  sink_.packets.clear();
  relays_.deliver(SocketAddress::fromStun(*relayed), SocketAddress::fromStun(peer_),
                  {1, 2, 3, 4, 5});
  ASSERT_EQ(sink_.packets.size(), 1u);
  EXPECT_EQ(sink_.packets[0].bytes.size(), 12u);  // 4 + 5 padded to 8 (RFC 8656 §12.5)
  EXPECT_EQ(sink_.packets[0].to.connectionId, 7u);
  server_->onClientClosed(tcp);
  EXPECT_EQ(server_->allocationCount(), 0u);
}

TEST_F(TurnServerTest, QuotasAre486And508) {
  make({"198.51.100.0/24"}, [](TurnServerOptions& o) {
    o.maxAllocationsPerInvite = 2;
    o.maxAllocationsPerSource = 3;
    o.maxAllocationsTotal = 4;
    o.maxPermissionsPerAllocation = 2;
    o.maxChannelsPerAllocation = 1;
  });
  auto a = client("invA");
  EXPECT_TRUE(allocate(a, udpFrom("203.0.113.1", 1)));
  EXPECT_TRUE(allocate(a, udpFrom("203.0.113.1", 2)));
  challenge(a, udpFrom("203.0.113.1", 3));
  auto req = [](StunBuilder& b) { b.addRequestedTransport(kTransportUdp); };
  EXPECT_EQ(code(send(a.request(method::kAllocate, req), udpFrom("203.0.113.1", 3))), 486);
  auto b = client("invB");
  EXPECT_TRUE(allocate(b, udpFrom("203.0.113.1", 4)));  // third from this IP
  challenge(b, udpFrom("203.0.113.1", 5));
  EXPECT_EQ(code(send(b.request(method::kAllocate, req), udpFrom("203.0.113.1", 5))), 486);
  EXPECT_EQ(metrics_.quota_refusals[metrics::TurnQuota::kAllocationsPerUser].value(), 2u);
  auto d = client("invD");
  EXPECT_TRUE(allocate(d, udpFrom("203.0.113.2", 1)));  // fourth in total
  auto e = client("invE");
  challenge(e, udpFrom("203.0.113.3", 1));
  EXPECT_EQ(code(send(e.request(method::kAllocate, req), udpFrom("203.0.113.3", 1))), 508);

  const auto from = udpFrom("203.0.113.2", 1);
  auto p = [](const char* ip) { return SocketAddress::fromIp(ip, 1)->toStun(); };
  EXPECT_EQ(createPermission(d, p("198.51.100.1"), from), 200);
  EXPECT_EQ(createPermission(d, p("198.51.100.2"), from), 200);
  EXPECT_EQ(createPermission(d, p("198.51.100.1"), from), 200);  // refresh, not a new one
  EXPECT_EQ(createPermission(d, p("198.51.100.3"), from), 508);
  EXPECT_EQ(channelBind(d, 0x4000, p("198.51.100.1"), from), 200);
  EXPECT_EQ(channelBind(d, 0x4001, p("198.51.100.2"), from), 508);
}

TEST_F(TurnServerTest, BandwidthTokenBucketDropsExcess) {
  make({"198.51.100.0/24"}, [](TurnServerOptions& o) {
    o.bandwidthBytesPerSecond = 1000;
    o.bandwidthBurstBytes = 1000;
  });
  auto c = client();
  ASSERT_TRUE(allocate(c, udp_));
  ASSERT_EQ(createPermission(c, peer_, udp_), 200);
  const auto ind = sendIndication(c, peer_, std::vector<uint8_t>(400, 1));
  for (int i = 0; i < 5; ++i) server_->onClientPacket(udp_, ind.data(), ind.size());
  EXPECT_EQ(relays_.sent.size(), 2u);
  EXPECT_EQ(server_->counters().bandwidthDropped, 3u);
  nowMs_ += 400;  // refills 400 bytes
  server_->onClientPacket(udp_, ind.data(), ind.size());
  EXPECT_EQ(relays_.sent.size(), 3u);
}

struct FixedLiveness : InviteLiveness {
  bool isLive(std::string_view invite) override { return invite != revoked; }
  std::string revoked;
};

TEST_F(TurnServerTest, RevokedInviteTearsDownAndIs401) {
  FixedLiveness live;
  liveness_ = &live;
  make();
  auto a = client("invA");
  auto b = client("invB");
  ASSERT_TRUE(allocate(a, udpFrom("203.0.113.1", 1)));
  ASSERT_TRUE(allocate(a, udpFrom("203.0.113.1", 2)));
  ASSERT_TRUE(allocate(b, udpFrom("203.0.113.1", 3)));
  live.revoked = "invA";
  EXPECT_EQ(server_->revokeInvite("invA"), 2u);
  EXPECT_EQ(server_->allocationCount(), 1u);
  EXPECT_EQ(relays_.live.size(), 1u);
  EXPECT_EQ(metrics_.allocations_active[metrics::Transport::kUdp].value(), 1);
  // The revoked invite can neither refresh nor allocate again.
  EXPECT_EQ(code(send(a.request(method::kRefresh, nullptr), udpFrom("203.0.113.1", 1))), 401);
  challenge(a, udpFrom("203.0.113.1", 9));
  EXPECT_EQ(code(send(a.request(method::kAllocate,
                                [](StunBuilder& s) { s.addRequestedTransport(kTransportUdp); }),
                      udpFrom("203.0.113.1", 9))),
            401);
}

TEST_F(TurnServerTest, RevokedInviteIsRefusedWithoutALivenessOracle) {
  // The process wires no InviteLiveness: revocation alone must keep the invite's credentials out.
  make();
  auto a = client("invA");
  auto b = client("invB");
  ASSERT_TRUE(allocate(a, udpFrom("203.0.113.1", 1)));
  EXPECT_EQ(server_->revokeInvite("invA"), 1u);
  challenge(a, udpFrom("203.0.113.1", 9));
  EXPECT_EQ(code(send(a.request(method::kAllocate,
                                [](StunBuilder& s) { s.addRequestedTransport(kTransportUdp); }),
                      udpFrom("203.0.113.1", 9))),
            401);
  // Other invites are untouched.
  EXPECT_TRUE(allocate(b, udpFrom("203.0.113.1", 3)));
}

TEST_F(TurnServerTest, UnauthenticatedAnswersRespectAmplificationRatio) {
  make();
  auto c = client();
  c.fingerprint = true;
  // coturn's turnutils_uclient first Allocate (captured): 60 bytes with LIFETIME, EVEN-PORT,
  // REQUESTED-ADDRESS-FAMILY and FINGERPRINT.
  const auto typical = c.request(
      method::kAllocate,
      [](StunBuilder& b) {
        b.addRequestedTransport(kTransportUdp);
        b.addU32(attr::kLifetime, 777);
        b.addEvenPort(true);
        b.addAddressFamily(attr::kRequestedAddressFamily, StunAddress::Family::kIPv4);
      },
      false);
  ASSERT_EQ(typical.size(), 60u);
  auto r = send(typical);
  ASSERT_EQ(code(r), 401);
  EXPECT_LE(static_cast<double>(last_.size()) / typical.size(), 1.6);
  // The smallest possible Allocate (Chromium's first one: header + REQUESTED-TRANSPORT, 28 bytes)
  // gets a bare challenge, the one answer allowed past the ratio: 64 bytes with the default
  // realm, nothing larger.
  c.fingerprint = false;
  const auto tiny = c.request(
      method::kAllocate, [](StunBuilder& b) { b.addRequestedTransport(kTransportUdp); }, false);
  ASSERT_EQ(tiny.size(), 28u);
  ASSERT_EQ(code(send(tiny)), 401);
  EXPECT_EQ(last_.size(), 64u);
  EXPECT_EQ(server_->counters().amplificationDropped, 0u);
  // With FINGERPRINT (36 bytes) the challenge carries one back: 72 bytes, still allowed.
  c.fingerprint = true;
  const auto tinyFp = c.request(
      method::kAllocate, [](StunBuilder& b) { b.addRequestedTransport(kTransportUdp); }, false);
  ASSERT_EQ(tinyFp.size(), 36u);
  ASSERT_EQ(code(send(tinyFp)), 401);
  EXPECT_EQ(last_.size(), 72u);
  EXPECT_EQ(server_->counters().amplificationDropped, 0u);
  c.fingerprint = false;
  // Over TCP the source is proven by the handshake: answered.
  ClientTuple tcp = udp_;
  tcp.transport = ClientTransport::kTcp;
  EXPECT_EQ(code(send(tiny, tcp)), 401);
}

TEST_F(TurnServerTest, UnauthorizedIsRateLimitedPerSource) {
  make({}, [](TurnServerOptions& o) {
    o.unauthorizedPerSecond = 1;
    o.unauthorizedBurst = 3;
  });
  auto c = client();
  c.fingerprint = true;
  const auto req = c.request(
      method::kAllocate,
      [](StunBuilder& b) {
        b.addRequestedTransport(kTransportUdp);
        b.addU32(attr::kLifetime, 600);
        b.addString(attr::kSoftware, "test client");
      },
      false);
  int answered = 0;
  for (int i = 0; i < 10; ++i) answered += send(req) ? 1 : 0;
  EXPECT_EQ(answered, 3);
  EXPECT_TRUE(send(req, udpFrom("203.0.113.200", 1)));  // another source is not affected
  nowMs_ += 1000;
  EXPECT_TRUE(send(req));
  EXPECT_EQ(server_->allocationCount(), 0u);
}

TEST_F(TurnServerTest, MalformedInputIsCountedNotAnswered) {
  make();
  const uint8_t junk[] = {0x00, 0x01, 0x00, 0x04, 0x21, 0x12, 0xA4, 0x42, 1, 2, 3};
  EXPECT_FALSE(send(std::vector<uint8_t>(junk, junk + sizeof(junk))));
  const uint8_t cd[] = {0x40, 0x00, 0x00, 0x10, 1};  // length beyond the datagram
  EXPECT_FALSE(send(std::vector<uint8_t>(cd, cd + sizeof(cd))));
  EXPECT_EQ(server_->counters().malformed, 2u);
}

struct RecordingLocalPeer : LocalPeer {
  bool onRelayedDatagram(const SocketAddress& relayed, const SocketAddress& to, const uint8_t* data,
                         size_t len) override {
    if (full) return false;
    got.push_back({relayed, to, std::vector<uint8_t>(data, data + len)});
    return true;
  }
  std::vector<FakeRelays::Sent> got;
  bool full = false;
};

TEST_F(TurnServerTest, LocalPeerPathBypassesSockets) {
  make({});  // no allow list at all: the SFU is reachable only as an own address
  RecordingLocalPeer sfu;
  const auto sfuAddr = *SocketAddress::fromIp("127.0.0.1", 40000);
  server_->registerLocalPeer(sfuAddr, sfu);
  auto c = client();
  const auto relayed = allocate(c, udp_);
  ASSERT_TRUE(relayed);
  const auto sfuStun = sfuAddr.toStun();
  // Another port on the SFU's IP is still loopback: refused.
  auto otherPort = sfuStun;
  otherPort.port = 40001;
  EXPECT_EQ(channelBind(c, 0x4000, otherPort, udp_), 403);
  ASSERT_EQ(channelBind(c, 0x4000, sfuStun, udp_), 200);
  const uint8_t cd[] = {0x40, 0x00, 0x00, 0x03, 7, 7, 7};
  server_->onClientPacket(udp_, cd, sizeof(cd));
  ASSERT_EQ(sfu.got.size(), 1u);
  EXPECT_EQ(sfu.got[0].from, SocketAddress::fromStun(*relayed));
  EXPECT_EQ(sfu.got[0].to, sfuAddr);
  EXPECT_TRUE(relays_.sent.empty());  // no socket involved
  // And back: the SFU answers to the relayed address, the client gets ChannelData.
  sink_.packets.clear();
  const uint8_t answer[] = {1, 2, 3, 4};
  EXPECT_TRUE(server_->sendFromLocalPeer(sfuAddr, SocketAddress::fromStun(*relayed), answer, 4));
  ASSERT_EQ(sink_.packets.size(), 1u);
  EXPECT_EQ(parseChannelData(sink_.packets[0].bytes, Framing::kDatagram)->channel, 0x4000);
  EXPECT_FALSE(server_->sendFromLocalPeer(sfuAddr, sfuAddr, answer, 4));  // not a relay address
  EXPECT_EQ(metrics_.local_path_packets[metrics::Direction::kOut].value(), 1u);
  EXPECT_EQ(metrics_.local_path_packets[metrics::Direction::kIn].value(), 1u);
  // A full queue on the SFU side is a counted drop, never a detour through a socket.
  sfu.full = true;
  const uint64_t failed = server_->counters().relaySendFailed;
  server_->onClientPacket(udp_, cd, sizeof(cd));
  EXPECT_EQ(server_->counters().relaySendFailed, failed + 1);
  EXPECT_TRUE(relays_.sent.empty());
  EXPECT_EQ(metrics_.local_path_packets[metrics::Direction::kOut].value(), 1u);
}

}  // namespace
}  // namespace medrelay::net::turn
