// RFC 5769 test vectors: parse, integrity (right and wrong key), fingerprint, addresses, and
// byte-exact rebuilds through StunBuilder.
#include <gtest/gtest.h>

#include <string>

#include "net/stun/stun_builder.h"
#include "net/stun/stun_integrity.h"
#include "net/stun/stun_message.h"
#include "tests/unit/net/stun_vectors.h"

namespace medrelay::net::stun {
namespace {

const std::string kShortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt";
// U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9
const std::string kLongTermUser =
    "\xE3\x83\x9E\xE3\x83\x88\xE3\x83\xAA\xE3\x83\x83\xE3\x82\xAF\xE3\x82\xB9";
// "The<U+00AD>M<U+00AA>tr<U+2168>"
const std::string kLongTermPassword = "The\xC2\xADM\xC2\xAAtr\xE2\x85\xA8";

class Rfc5769Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { vectors_ = test::loadRfc5769(); }
  static std::vector<uint8_t>& v(const std::string& name) { return vectors_.at(name); }
  static inline std::map<std::string, std::vector<uint8_t>> vectors_;
};

TEST_F(Rfc5769Test, VectorsLoaded) {
  ASSERT_EQ(v("2.1").size(), 108u);
  ASSERT_EQ(v("2.2").size(), 80u);
  ASSERT_EQ(v("2.3").size(), 92u);
  ASSERT_EQ(v("2.4").size(), 116u);
}

TEST_F(Rfc5769Test, SampleRequest) {
  const auto m = StunMessage::parse(v("2.1"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->messageClass(), MessageClass::kRequest);
  EXPECT_EQ(m->method(), method::kBinding);
  const StunMessage::TransactionId tid = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                          0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
  EXPECT_EQ(m->transactionId(), tid);
  EXPECT_EQ(m->software(), "STUN test client");
  EXPECT_EQ(m->username(), "evtj:h6vY");  // padding spaces are not part of the value
  EXPECT_EQ(m->priority(), 0x6e0001ffu);
  EXPECT_EQ(m->iceControlled(), 0x932ff9b151263b36ull);
  EXPECT_FALSE(m->iceControlling());
  EXPECT_FALSE(m->useCandidate());
  EXPECT_EQ(m->attributeCount(), 6u);
  EXPECT_EQ(checkMessageIntegrity(*m, keyBytes(kShortTermPassword)), IntegrityResult::kOk);
  EXPECT_EQ(checkMessageIntegrity(*m, keyBytes("VOkJxbRl1RmTxUk/WvJxBT")),
            IntegrityResult::kMismatch);
  EXPECT_EQ(checkFingerprint(*m), IntegrityResult::kOk);
  EXPECT_EQ(checkMessageIntegritySha256(*m, keyBytes(kShortTermPassword)),
            IntegrityResult::kAbsent);
  uint16_t unknown[4];
  EXPECT_EQ(m->unknownComprehensionRequired(unknown), 0u);
}

TEST_F(Rfc5769Test, SampleIpv4Response) {
  const auto m = StunMessage::parse(v("2.2"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->messageClass(), MessageClass::kSuccessResponse);
  EXPECT_EQ(m->software(), "test vector");
  const auto a = m->xorMappedAddress();
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, StunAddress::ipv4({192, 0, 2, 1}, 32853));
  EXPECT_FALSE(m->mappedAddress());
  EXPECT_EQ(checkMessageIntegrity(*m, keyBytes(kShortTermPassword)), IntegrityResult::kOk);
  EXPECT_EQ(checkMessageIntegrity(*m, keyBytes("")), IntegrityResult::kMismatch);
  EXPECT_EQ(checkFingerprint(*m), IntegrityResult::kOk);
}

TEST_F(Rfc5769Test, SampleIpv6Response) {
  const auto m = StunMessage::parse(v("2.3"));
  ASSERT_TRUE(m);
  const auto a = m->xorMappedAddress();
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, StunAddress::ipv6({0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78, 0x00, 0x11, 0x22,
                                   0x33, 0x44, 0x55, 0x66, 0x77},
                                  32853));
  EXPECT_EQ(checkMessageIntegrity(*m, keyBytes(kShortTermPassword)), IntegrityResult::kOk);
  EXPECT_EQ(checkFingerprint(*m), IntegrityResult::kOk);
}

TEST_F(Rfc5769Test, SampleLongTermRequest) {
  const auto m = StunMessage::parse(v("2.4"));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->username(), kLongTermUser);
  EXPECT_EQ(m->nonce(), "f//499k954d6OL34oL9FSTvy64sA");
  EXPECT_EQ(m->realm(), "example.org");
  EXPECT_EQ(checkFingerprint(*m), IntegrityResult::kAbsent);  // 2.4 has no FINGERPRINT

  const auto key = longTermKeyMd5(kLongTermUser, "example.org", kLongTermPassword);
  ASSERT_TRUE(key);
  EXPECT_EQ(checkMessageIntegrity(*m, *key), IntegrityResult::kOk);
  // SASLprep matters: the unprepared password or the plain prefix give another key.
  const auto raw = std::string("The") + "M" + "tr";
  const auto wrong = longTermKeyMd5(kLongTermUser, "example.org", raw);
  ASSERT_TRUE(wrong);
  EXPECT_EQ(checkMessageIntegrity(*m, *wrong), IntegrityResult::kMismatch);
  // The prepared form yields the same key.
  EXPECT_EQ(longTermKeyMd5(kLongTermUser, "example.org", "TheMatrIX"), key);
  // The short-term interpretation (key = password bytes) fails.
  EXPECT_EQ(checkMessageIntegrity(*m, keyBytes(kLongTermPassword)), IntegrityResult::kMismatch);
}

TEST_F(Rfc5769Test, RebuildSampleRequestByteExact) {
  const auto m = StunMessage::parse(v("2.1"));
  ASSERT_TRUE(m);
  uint8_t buf[256];
  StunBuilder b(buf, MessageClass::kRequest, method::kBinding, m->transactionId());
  b.addString(attr::kSoftware, "STUN test client");
  b.addU32(attr::kPriority, 0x6e0001ff);
  b.addU64(attr::kIceControlled, 0x932ff9b151263b36ull);
  b.addString(attr::kUsername, "evtj:h6vY", ' ');
  b.addMessageIntegrity(keyBytes(kShortTermPassword));
  b.addFingerprint();
  const auto out = b.finish();
  ASSERT_TRUE(out);
  EXPECT_EQ(std::vector<uint8_t>(out->begin(), out->end()), v("2.1"));
}

TEST_F(Rfc5769Test, RebuildResponsesByteExact) {
  for (const char* name : {"2.2", "2.3"}) {
    const auto m = StunMessage::parse(v(name));
    ASSERT_TRUE(m);
    uint8_t buf[256];
    StunBuilder b(buf, MessageClass::kSuccessResponse, method::kBinding, m->transactionId());
    b.addString(attr::kSoftware, "test vector", ' ');
    b.addXorAddress(attr::kXorMappedAddress, *m->xorMappedAddress());
    b.addMessageIntegrity(keyBytes(kShortTermPassword));
    b.addFingerprint();
    const auto out = b.finish();
    ASSERT_TRUE(out);
    EXPECT_EQ(std::vector<uint8_t>(out->begin(), out->end()), v(name)) << name;
  }
}

TEST_F(Rfc5769Test, RebuildLongTermRequestByteExact) {
  const auto m = StunMessage::parse(v("2.4"));
  ASSERT_TRUE(m);
  const auto key = longTermKeyMd5(kLongTermUser, "example.org", kLongTermPassword);
  ASSERT_TRUE(key);
  uint8_t buf[256];
  StunBuilder b(buf, MessageClass::kRequest, method::kBinding, m->transactionId());
  b.addString(attr::kUsername, kLongTermUser);
  b.addString(attr::kNonce, "f//499k954d6OL34oL9FSTvy64sA");
  b.addString(attr::kRealm, "example.org");
  b.addMessageIntegrity(*key);
  const auto out = b.finish();
  ASSERT_TRUE(out);
  EXPECT_EQ(std::vector<uint8_t>(out->begin(), out->end()), v("2.4"));
}

// RFC 8489 §14.5: attributes after MESSAGE-INTEGRITY (other than FINGERPRINT) are ignored, and a
// modified byte inside the covered range breaks integrity.
TEST_F(Rfc5769Test, TamperingIsDetected) {
  auto bytes = v("2.1");
  bytes[30] ^= 0x01;  // inside SOFTWARE
  const auto m = StunMessage::parse(bytes);
  ASSERT_TRUE(m);
  EXPECT_EQ(checkMessageIntegrity(*m, keyBytes(kShortTermPassword)), IntegrityResult::kMismatch);
  EXPECT_EQ(checkFingerprint(*m), IntegrityResult::kMismatch);
}

}  // namespace
}  // namespace medrelay::net::stun
