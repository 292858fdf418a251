#include "media/ice_lite.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "net/stun/stun_integrity.h"
#include "tests/unit/media/ice_test_util.h"

namespace medrelay::media {
namespace {

namespace stun = net::stun;
using test::bindingRequest;
using test::BindingRequestSpec;
using namespace std::chrono_literals;

struct Recorder : IceLite::Callbacks {
  std::vector<net::TransportTuple> selected;
  int connected = 0;
  int consentLost = 0;
  void onIceSelectedPairChanged(const net::TransportTuple& t) override { selected.push_back(t); }
  void onIceConnected() override { ++connected; }
  void onIceConsentLost() override { ++consentLost; }
};

net::TransportTuple udpTuple(const char* text) {
  net::TransportTuple t;
  t.remote = *net::SocketAddress::parse(text);
  return t;
}

class IceLiteTest : public ::testing::Test {
 protected:
  IceLiteTest() : dispatcher_("ice-test"), agent_(dispatcher_, rec_, options()) {
    agent_.setRemoteCredentials("peer", "peerpasswordpeerpassword");
  }
  static IceLite::Options options() {
    IceLite::Options o;
    o.consentTimeout = 150ms;
    return o;
  }

  BindingRequestSpec good(bool useCandidate = false) {
    BindingRequestSpec s;
    s.username = agent_.localUfrag() + ":peer";
    s.password = agent_.localPassword();
    s.useCandidate = useCandidate;
    return s;
  }

  // Feeds a request; returns the result and keeps the parsed response in response_.
  IceLite::CheckResult feed(const BindingRequestSpec& spec, const net::TransportTuple& from) {
    request_ = bindingRequest(spec);
    auto msg = stun::StunMessage::parse(request_);
    EXPECT_TRUE(msg.has_value());
    auto r = agent_.handleStun(from, *msg, out_);
    response_.reset();
    if (!r.response.empty()) response_ = stun::StunMessage::parse(r.response);
    return r;
  }

  uint16_t errorCode() const {
    if (!response_ || !response_->errorCode()) return 0;
    return response_->errorCode()->code;
  }

  net::Dispatcher dispatcher_;
  Recorder rec_;
  IceLite agent_;
  std::vector<uint8_t> request_;
  std::array<uint8_t, 512> out_{};
  std::optional<stun::StunMessage> response_;
};

TEST_F(IceLiteTest, CredentialsFollowRfc8445IceChars) {
  EXPECT_GE(agent_.localUfrag().size(), 4u);
  EXPECT_GE(agent_.localPassword().size(), 22u);
  const std::string iceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (char c : agent_.localUfrag() + agent_.localPassword()) {
    EXPECT_NE(iceChars.find(c), std::string::npos) << c;
  }
  Recorder other;
  IceLite second(dispatcher_, other);
  EXPECT_NE(second.localUfrag(), agent_.localUfrag());
  EXPECT_NE(second.localPassword(), agent_.localPassword());
}

TEST_F(IceLiteTest, GoodCheckGetsSuccessWithXorMappedAddressAndOurIntegrity) {
  const auto from = udpTuple("192.0.2.7:40001");
  const auto r = feed(good(), from);
  ASSERT_TRUE(r.success);
  EXPECT_TRUE(r.newValidPair);
  ASSERT_TRUE(response_);
  EXPECT_EQ(response_->messageClass(), stun::MessageClass::kSuccessResponse);
  EXPECT_EQ(response_->method(), stun::method::kBinding);
  EXPECT_EQ(response_->transactionId(), stun::StunMessage::parse(request_)->transactionId());
  ASSERT_TRUE(response_->xorMappedAddress());
  EXPECT_EQ(net::SocketAddress::fromStun(*response_->xorMappedAddress()), from.remote);
  EXPECT_EQ(stun::checkMessageIntegrity(*response_, stun::keyBytes(agent_.localPassword())),
            stun::IntegrityResult::kOk);
  EXPECT_EQ(stun::checkMessageIntegrity(*response_, stun::keyBytes("wrong")),
            stun::IntegrityResult::kMismatch);
  EXPECT_EQ(stun::checkFingerprint(*response_), stun::IntegrityResult::kOk);
  EXPECT_TRUE(agent_.isValidPair(from));
  EXPECT_EQ(agent_.selectedPair(), nullptr);  // not nominated yet
  EXPECT_EQ(rec_.connected, 0);
}

TEST_F(IceLiteTest, XorMappedAddressForIpv6Sender) {
  const auto from = udpTuple("[2001:db8::5]:5000");
  ASSERT_TRUE(feed(good(), from).success);
  EXPECT_EQ(net::SocketAddress::fromStun(*response_->xorMappedAddress()), from.remote);
}

TEST_F(IceLiteTest, WrongLocalUfragIs401WithoutIntegrity) {
  auto spec = good();
  spec.username = "nottheufrag:peer";
  const auto r = feed(spec, udpTuple("192.0.2.7:40001"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reject, IceLite::Reject::kBadUsername);
  EXPECT_EQ(errorCode(), 401);
  EXPECT_FALSE(response_->messageIntegrity());  // RFC 8489 §9.1.3
  EXPECT_EQ(agent_.counters().rejected(IceLite::Reject::kBadUsername), 1u);
  EXPECT_FALSE(agent_.isValidPair(udpTuple("192.0.2.7:40001")));
}

TEST_F(IceLiteTest, WrongRemoteUfragIs401) {
  auto spec = good();
  spec.username = agent_.localUfrag() + ":someoneelse";
  feed(spec, udpTuple("192.0.2.7:40001"));
  EXPECT_EQ(errorCode(), 401);
}

TEST_F(IceLiteTest, WrongPasswordIs401) {
  auto spec = good();
  spec.password = "this-is-not-the-password";
  const auto r = feed(spec, udpTuple("192.0.2.7:40001"));
  EXPECT_EQ(r.reject, IceLite::Reject::kBadIntegrity);
  EXPECT_EQ(errorCode(), 401);
  EXPECT_EQ(agent_.validPairs().size(), 0u);
}

TEST_F(IceLiteTest, MissingIntegrityOrUsernameIs400) {
  auto spec = good();
  spec.integrity = false;
  feed(spec, udpTuple("192.0.2.7:40001"));
  EXPECT_EQ(errorCode(), 400);
  spec = good();
  spec.username.clear();
  feed(spec, udpTuple("192.0.2.7:40001"));
  EXPECT_EQ(errorCode(), 400);
  EXPECT_EQ(agent_.counters().rejected(IceLite::Reject::kMissingCredentials), 2u);
}

TEST_F(IceLiteTest, MissingFingerprintIsDroppedSilently) {
  auto spec = good();
  spec.fingerprint = false;
  const auto r = feed(spec, udpTuple("192.0.2.7:40001"));
  EXPECT_FALSE(r.success);
  EXPECT_TRUE(r.response.empty());
  EXPECT_EQ(r.reject, IceLite::Reject::kBadFingerprint);
}

TEST_F(IceLiteTest, PeerClaimingControlledGets487WithIntegrity) {
  auto spec = good(true);
  spec.controlling = false;
  spec.controlled = true;
  const auto r = feed(spec, udpTuple("192.0.2.7:40001"));
  EXPECT_EQ(r.reject, IceLite::Reject::kRoleConflict);
  EXPECT_EQ(errorCode(), 487);
  EXPECT_EQ(stun::checkMessageIntegrity(*response_, stun::keyBytes(agent_.localPassword())),
            stun::IntegrityResult::kOk);
  EXPECT_EQ(agent_.selectedPair(), nullptr);
}

TEST_F(IceLiteTest, UnknownComprehensionRequiredAttributeIs420) {
  auto spec = good();
  spec.extraAttribute = 0x0077;
  const auto r = feed(spec, udpTuple("192.0.2.7:40001"));
  EXPECT_EQ(r.reject, IceLite::Reject::kUnknownAttribute);
  EXPECT_EQ(errorCode(), 420);
  std::array<uint16_t, 4> types{};
  ASSERT_EQ(response_->unknownAttributes(types), 1u);
  EXPECT_EQ(types[0], 0x0077);
  // Unknown comprehension-optional attributes are fine.
  spec.extraAttribute = 0x8077;
  EXPECT_TRUE(feed(spec, udpTuple("192.0.2.7:40001")).success);
}

TEST_F(IceLiteTest, IndicationsAndResponsesAreNotAnswered) {
  std::vector<uint8_t> buf(64);
  stun::StunMessage::TransactionId tid{};
  stun::StunBuilder b(buf, stun::MessageClass::kIndication, stun::method::kBinding, tid);
  b.addFingerprint();
  const auto wire = b.finish();
  const auto msg = stun::StunMessage::parse(*wire);
  const auto r = agent_.handleStun(udpTuple("192.0.2.7:1"), *msg, out_);
  EXPECT_FALSE(r.success);
  EXPECT_TRUE(r.response.empty());
  EXPECT_EQ(r.reject, IceLite::Reject::kNotBindingRequest);
}

TEST_F(IceLiteTest, UseCandidateSelectsAndNewestNominationWins) {
  const auto a = udpTuple("192.0.2.7:40001");
  const auto b = udpTuple("198.51.100.9:40002");
  ASSERT_TRUE(feed(good(), a).success);
  ASSERT_TRUE(feed(good(), b).success);
  EXPECT_EQ(rec_.selected.size(), 0u);

  ASSERT_TRUE(feed(good(true), a).success);
  ASSERT_NE(agent_.selectedPair(), nullptr);
  EXPECT_EQ(*agent_.selectedPair(), a);
  EXPECT_EQ(rec_.connected, 1);
  ASSERT_EQ(rec_.selected.size(), 1u);

  // Re-nominating the same pair is not a change.
  ASSERT_TRUE(feed(good(true), a).success);
  EXPECT_EQ(rec_.selected.size(), 1u);

  // The peer moves (network change): the newest nomination wins.
  ASSERT_TRUE(feed(good(true), b).success);
  EXPECT_EQ(*agent_.selectedPair(), b);
  ASSERT_EQ(rec_.selected.size(), 2u);
  EXPECT_EQ(rec_.selected[1], b);
  EXPECT_EQ(rec_.connected, 1);
  EXPECT_EQ(agent_.state(), IceLite::State::kConnected);
}

TEST_F(IceLiteTest, ValidPairsAreBoundedAndSelectedIsNeverEvicted) {
  const auto sel = udpTuple("192.0.2.1:1000");
  ASSERT_TRUE(feed(good(true), sel).success);
  for (int i = 0; i < 20; ++i) {
    const auto t = udpTuple(("192.0.2.2:" + std::to_string(2000 + i)).c_str());
    const auto r = feed(good(), t);
    ASSERT_TRUE(r.success);
    if (r.evicted) {
      EXPECT_FALSE(*r.evicted == sel);
    }
  }
  EXPECT_EQ(agent_.validPairs().size(), IceLite::kMaxValidPairs);
  EXPECT_TRUE(agent_.isValidPair(sel));
}

TEST_F(IceLiteTest, ConsentExpiresWithoutChecksOnSelectedPair) {
  const auto a = udpTuple("192.0.2.7:40001");
  ASSERT_TRUE(feed(good(true), a).success);
  // Checks on the selected pair keep consent alive past several timeouts.
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < 400ms) {
    ASSERT_TRUE(feed(good(), a).success);
    test::runUntil(
        dispatcher_, [] { return false; }, 10ms);
  }
  EXPECT_EQ(rec_.consentLost, 0);
  // Checks on another pair do not count as consent for the selected one.
  const auto b = udpTuple("198.51.100.9:40002");
  ASSERT_TRUE(test::runUntil(dispatcher_, [&] {
    feed(good(), b);
    return rec_.consentLost == 1;
  }));
  EXPECT_EQ(agent_.state(), IceLite::State::kConsentLost);
  // Terminal until an ICE restart: checks are no longer answered.
  const auto r = feed(good(true), a);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reject, IceLite::Reject::kConsentLost);
  test::runUntil(
      dispatcher_, [] { return false; }, 200ms);
  EXPECT_EQ(rec_.consentLost, 1);
}

TEST_F(IceLiteTest, RestartChangesCredentialsAndResetsPairsButKeepsSelected) {
  const auto a = udpTuple("192.0.2.7:40001");
  const auto b = udpTuple("198.51.100.9:40002");
  ASSERT_TRUE(feed(good(true), a).success);
  ASSERT_TRUE(feed(good(), b).success);
  const auto oldSpec = good();
  const std::string oldUfrag = agent_.localUfrag();
  const std::string oldPwd = agent_.localPassword();

  agent_.restart("peer2", "peer2passwordpeer2password");
  EXPECT_NE(agent_.localUfrag(), oldUfrag);
  EXPECT_NE(agent_.localPassword(), oldPwd);
  EXPECT_FALSE(agent_.isValidPair(b));
  EXPECT_TRUE(agent_.isValidPair(a));  // media continues on the old selected pair (§9)
  ASSERT_NE(agent_.selectedPair(), nullptr);

  // Old credentials no longer work; new ones do.
  EXPECT_EQ(feed(oldSpec, b).reject, IceLite::Reject::kBadUsername);
  auto spec = good(true);
  spec.username = agent_.localUfrag() + ":peer2";
  ASSERT_TRUE(feed(spec, b).success);
  EXPECT_EQ(*agent_.selectedPair(), b);
  EXPECT_EQ(rec_.connected, 1);  // the session never disconnected
}

TEST_F(IceLiteTest, RestartAfterConsentLossReconnects) {
  const auto a = udpTuple("192.0.2.7:40001");
  ASSERT_TRUE(feed(good(true), a).success);
  ASSERT_TRUE(test::runUntil(dispatcher_, [&] { return rec_.consentLost == 1; }));
  agent_.restart("peer3", "peer3passwordpeer3password");
  EXPECT_EQ(agent_.state(), IceLite::State::kNew);
  EXPECT_EQ(agent_.selectedPair(), nullptr);
  auto spec = good(true);
  spec.username = agent_.localUfrag() + ":peer3";
  ASSERT_TRUE(feed(spec, a).success);
  EXPECT_EQ(rec_.connected, 2);
}

TEST_F(IceLiteTest, RemovedSelectedPairLosesConsentUnlessRenominated) {
  const auto a = udpTuple("192.0.2.7:40001");
  ASSERT_TRUE(feed(good(true), a).success);
  agent_.removePair(a);
  EXPECT_EQ(agent_.selectedPair(), nullptr);
  EXPECT_FALSE(agent_.isValidPair(a));
  ASSERT_TRUE(test::runUntil(dispatcher_, [&] { return rec_.consentLost == 1; }));
}

}  // namespace
}  // namespace medrelay::media
