// REST credentials, the Link header, stateless nonces, and RFC 5769 vectors through the server.
#include "net/turn/turn_credentials.h"

#include <gtest/gtest.h>

#include "net/stun/stun_integrity.h"
#include "tests/support/turn_server_fixture.h"
#include "tests/unit/net/stun_vectors.h"

namespace medrelay::net::turn {
namespace {

TEST(TurnCredentialsTest, MintMatchesTheRestFormula) {
  const auto c =
      mintTurnCredentials("inv-42", 1700003600, "s3cr3t-0123456789", {"turn:h:3478"}, 1700000000);
  EXPECT_EQ(c.username, "1700003600:inv-42");
  EXPECT_EQ(c.ttlSeconds, 3600u);
  // base64(HMAC-SHA1(secret, username)) is 28 characters ending in '='.
  ASSERT_EQ(c.password.size(), 28u);
  EXPECT_EQ(c.password.back(), '=');
  EXPECT_EQ(c.password, restPassword("s3cr3t-0123456789", c.username));
  EXPECT_NE(c.password, restPassword("other-secret-0123", c.username));
  // Known answer: HMAC-SHA1("key", "The quick brown fox jumps over the lazy dog") (RFC 2104
  // test vector as widely published) = de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9.
  EXPECT_EQ(restPassword("key", "The quick brown fox jumps over the lazy dog"),
            "3nybhbi3iqa8ino29wqQcBydtNk=");
  EXPECT_EQ(mintTurnCredentials("x", 100, "s", {}, 200).ttlSeconds, 0u);
}

TEST(TurnCredentialsTest, ParseRestUsername) {
  auto r = parseRestUsername("1700000000:invite:with:colons");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->expiry, 1700000000);
  EXPECT_EQ(r->inviteId, "invite:with:colons");
  EXPECT_FALSE(parseRestUsername("alice"));
  EXPECT_FALSE(parseRestUsername(":alice"));
  EXPECT_FALSE(parseRestUsername("12x:alice"));
  EXPECT_FALSE(parseRestUsername("1700000000:"));
  EXPECT_FALSE(parseRestUsername("-5:alice"));
}

TEST(TurnCredentialsTest, LinkHeaderFollowsRfc9725) {
  TurnCredentials c;
  c.username = "1700003600:inv";
  c.password = "abc=";
  c.uris = {"turn:relay.example:3478?transport=udp", "turns:relay.example:443?transport=tcp"};
  EXPECT_EQ(formatIceServerLinks(c),
            "<turn:relay.example:3478?transport=udp>; rel=\"ice-server\"; "
            "username=\"1700003600:inv\"; credential=\"abc=\"; credential-type=\"password\", "
            "<turns:relay.example:443?transport=tcp>; rel=\"ice-server\"; "
            "username=\"1700003600:inv\"; credential=\"abc=\"; credential-type=\"password\"");
  c.username = "1:a\"b";
  c.uris.resize(1);
  EXPECT_NE(formatIceServerLinks(c).find("username=\"1:a\\\"b\""), std::string::npos);
}

TEST(NonceCodecTest, ValidStaleForgedAndBoundToIp) {
  const uint8_t key[32] = {1, 2, 3};
  NonceCodec codec(key, 60);
  const uint8_t ip[4] = {203, 0, 113, 7};
  const uint8_t otherIp[4] = {203, 0, 113, 8};
  std::array<char, NonceCodec::kNonceChars> n{};
  codec.make(ip, 1000, n);
  const std::string_view nonce(n.data(), n.size());
  EXPECT_EQ(codec.check(nonce, ip, 1000), NonceCodec::Check::kValid);
  EXPECT_EQ(codec.check(nonce, ip, 1060), NonceCodec::Check::kValid);
  EXPECT_EQ(codec.check(nonce, ip, 1061), NonceCodec::Check::kStale);
  EXPECT_EQ(codec.check(nonce, otherIp, 1000), NonceCodec::Check::kInvalid);
  std::string tampered(nonce);
  tampered[19] = tampered[19] == 'A' ? 'B' : 'A';
  EXPECT_EQ(codec.check(tampered, ip, 1000), NonceCodec::Check::kInvalid);
  EXPECT_EQ(codec.check("short", ip, 1000), NonceCodec::Check::kInvalid);
  NonceCodec otherKey(60);  // another process (restart): its nonces are not ours
  EXPECT_EQ(otherKey.check(nonce, ip, 1000), NonceCodec::Check::kInvalid);
}

// RFC 5769 at the TURN level: the sample requests go through the server's datagram entry
// point; Binding is answered without credentials, FINGERPRINT is checked and mirrored.
class TurnRfc5769Test : public testing::TurnServerTest {};

TEST_F(TurnRfc5769Test, SampleRequestsThroughTheServer) {
  make();
  const auto vectors = medrelay::test::loadRfc5769();
  for (const char* name : {"2.1", "2.4"}) {
    const auto& req = vectors.at(name);
    auto r = send(req);
    ASSERT_TRUE(success(r)) << name;
    EXPECT_EQ(r->transactionId(), stun::StunMessage::parse(req)->transactionId());
    EXPECT_EQ(r->xorMappedAddress(), udp_.remote.toStun());
    EXPECT_LE(last_.size(), 1.6 * req.size()) << name;
    const bool hasFingerprint = std::string(name) == "2.1";
    EXPECT_EQ(stun::checkFingerprint(*r),
              hasFingerprint ? stun::IntegrityResult::kOk : stun::IntegrityResult::kAbsent);
  }
  auto corrupt = vectors.at("2.1");
  corrupt.back() ^= 1;  // FINGERPRINT no longer matches: not STUN, no answer
  EXPECT_FALSE(send(corrupt));
  // The 2.4 long-term key (SASLprep'd password) verifies the vector's MESSAGE-INTEGRITY.
  const auto m = stun::StunMessage::parse(vectors.at("2.4"));
  const auto key =
      stun::longTermKeyMd5(*m->username(), *m->realm(), "The\xC2\xADM\xC2\xAAtr\xE2\x85\xA8");
  EXPECT_EQ(stun::checkMessageIntegrity(*m, *key), stun::IntegrityResult::kOk);
}

}  // namespace
}  // namespace medrelay::net::turn
