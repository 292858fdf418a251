#pragma once

// The TURN server test fixture: a TurnServer over FakeRelays and a CapturingSink with
// controllable clocks, and client helpers for the 401 round trip and each method.

#include <gtest/gtest.h>

#include "net/turn/turn_server.h"
#include "tests/support/turn_test_util.h"

namespace medrelay::testing {

using namespace net::stun;
using net::turn::ClientTransport;
using net::turn::ClientTuple;
using net::turn::InviteLiveness;
using net::turn::mintTurnCredentials;
using net::turn::PeerPolicy;
using net::turn::TurnServer;
using net::turn::TurnServerOptions;

inline constexpr const char* kSecret = "0123456789abcdef-secret";
inline constexpr int64_t kUnixStart = 1'700'000'000;

class TurnServerTest : public ::testing::Test {
 protected:
  void make(std::vector<std::string> allow = {"198.51.100.0/24", "2001:db8:1::/48"},
            const std::function<void(TurnServerOptions&)>& tweak = nullptr) {
    TurnServerOptions o;
    o.secrets = {kSecret};
    o.nowMs = [this] { return nowMs_; };
    o.unixNow = [this] { return unix_; };
    if (tweak) tweak(o);
    auto p = PeerPolicy::create(allow, {});
    ASSERT_TRUE(p.ok());
    server_ =
        std::make_unique<TurnServer>(nullptr, o, p.value(), relays_, sink_, metrics_, liveness_);
  }

  TurnTestClient client(const std::string& invite = "inv1", int64_t ttl = 3600,
                        const std::string& secret = kSecret) {
    auto c = mintTurnCredentials(invite, unix_ + ttl, secret, {}, unix_);
    TurnTestClient t;
    t.username = c.username;
    t.password = c.password;
    return t;
  }

  // Sends bytes; returns the single answer (nullopt when none).
  std::optional<StunMessage> send(const std::vector<uint8_t>& bytes, const ClientTuple& from) {
    sink_.packets.clear();
    server_->onClientPacket(from, bytes.data(), bytes.size());
    if (sink_.packets.empty()) return std::nullopt;
    last_ = sink_.packets.back().bytes;
    return StunMessage::parse(last_);
  }
  std::optional<StunMessage> send(const std::vector<uint8_t>& bytes) { return send(bytes, udp_); }

  static uint16_t code(const std::optional<StunMessage>& m) {
    if (!m || m->messageClass() != MessageClass::kErrorResponse) return 0;
    return m->errorCode() ? m->errorCode()->code : 1;
  }
  static bool success(const std::optional<StunMessage>& m) {
    return m && m->messageClass() == MessageClass::kSuccessResponse;
  }

  // The 401 round trip: learns the nonce.
  void challenge(TurnTestClient& c, const ClientTuple& from) {
    // Real clients' first Allocate carries more than REQUESTED-TRANSPORT (SOFTWARE here), so
    // the 401 fits the amplification bound.
    auto r = send(c.request(
                      method::kAllocate,
                      [](StunBuilder& b) {
                        b.addRequestedTransport(kTransportUdp);
                        b.addString(attr::kSoftware, "medrelay-test-client");
                      },
                      false),
                  from);
    ASSERT_EQ(code(r), 401);
    ASSERT_TRUE(r->nonce());
    EXPECT_EQ(*r->realm(), "medrelay");
    c.nonce = std::string(*r->nonce());
  }

  // Full allocation; returns the relayed address.
  std::optional<StunAddress> allocate(TurnTestClient& c, const ClientTuple& from,
                                      StunAddress::Family family = StunAddress::Family::kIPv4) {
    challenge(c, from);
    auto r = send(c.request(method::kAllocate,
                            [&](StunBuilder& b) {
                              b.addRequestedTransport(kTransportUdp);
                              if (family == StunAddress::Family::kIPv6) {
                                b.addAddressFamily(attr::kRequestedAddressFamily, family);
                              }
                            }),
                  from);
    if (!success(r)) {
      ADD_FAILURE() << "allocate failed: " << code(r);
      return std::nullopt;
    }
    EXPECT_GT(r->lifetime().value_or(0), 0u);
    EXPECT_LE(r->lifetime().value_or(0), 600u);  // default, or less when the credential ends
    EXPECT_EQ(r->xorMappedAddress(), from.remote.toStun());
    EXPECT_FALSE(r->has(attr::kSoftware));  // off by default
    const auto key = longTermKeyMd5(c.username, c.realm, c.password);
    EXPECT_EQ(checkMessageIntegrity(*r, *key), IntegrityResult::kOk);
    return r->xorRelayedAddress();
  }

  uint16_t createPermission(TurnTestClient& c, const StunAddress& peer, const ClientTuple& from) {
    auto r = send(c.request(method::kCreatePermission,
                            [&](StunBuilder& b) { b.addXorAddress(attr::kXorPeerAddress, peer); }),
                  from);
    return success(r) ? 200 : code(r);
  }
  uint16_t channelBind(TurnTestClient& c, uint16_t ch, const StunAddress& peer,
                       const ClientTuple& from) {
    auto r = send(c.request(method::kChannelBind,
                            [&](StunBuilder& b) {
                              b.addChannelNumber(ch);
                              b.addXorAddress(attr::kXorPeerAddress, peer);
                            }),
                  from);
    return success(r) ? 200 : code(r);
  }
  std::vector<uint8_t> sendIndication(TurnTestClient& c, const StunAddress& peer,
                                      std::vector<uint8_t> payload) {
    return c.request(
        method::kSend,
        [&](StunBuilder& b) {
          b.addXorAddress(attr::kXorPeerAddress, peer);
          b.addAttribute(attr::kData, payload);
        },
        false, MessageClass::kIndication);
  }

  static ClientTuple udpFrom(const char* ip, uint16_t port) {
    ClientTuple t;
    t.remote = *SocketAddress::fromIp(ip, port);
    return t;
  }

  uint64_t nowMs_ = 1'000'000;
  int64_t unix_ = kUnixStart;
  medrelay::metrics::TurnWorkerMetrics metrics_;
  CapturingSink sink_;
  FakeRelays relays_;
  InviteLiveness* liveness_ = nullptr;
  std::unique_ptr<TurnServer> server_;
  std::vector<uint8_t> last_;
  ClientTuple udp_ = udpFrom("203.0.113.7", 40000);
  StunAddress peer_ = SocketAddress::fromIp("198.51.100.20", 5000)->toStun();
};

}  // namespace medrelay::testing
