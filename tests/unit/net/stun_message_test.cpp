// STUN parser bounds, attribute rules and builder behaviour on hand-made messages.
#include "net/stun/stun_message.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/stun/channel_data.h"
#include "net/stun/sasl_prep.h"
#include "net/stun/stun_builder.h"
#include "net/stun/stun_integrity.h"

namespace medrelay::net::stun {
namespace {

const StunMessage::TransactionId kTid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

std::vector<uint8_t> header(uint16_t type, uint16_t len) {
  std::vector<uint8_t> b = {static_cast<uint8_t>(type >> 8),
                            static_cast<uint8_t>(type),
                            static_cast<uint8_t>(len >> 8),
                            static_cast<uint8_t>(len),
                            0x21,
                            0x12,
                            0xA4,
                            0x42};
  b.insert(b.end(), kTid.begin(), kTid.end());
  return b;
}

void append(std::vector<uint8_t>& b, std::initializer_list<uint8_t> bytes) {
  b.insert(b.end(), bytes);
}

TEST(StunParseTest, MinimalBindingRequest) {
  const auto b = header(0x0001, 0);
  const auto m = StunMessage::parse(b);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->method(), method::kBinding);
  EXPECT_EQ(m->attributeCount(), 0u);
  EXPECT_EQ(m->begin(), m->end());
}

TEST(StunParseTest, RejectsBadHeaders) {
  EXPECT_FALSE(StunMessage::parse({}));
  auto b = header(0x0001, 0);
  EXPECT_FALSE(StunMessage::parse(std::span(b).first(19)));  // truncated header
  auto top = b;
  top[0] = 0x40;  // top two bits set (ChannelData range)
  EXPECT_FALSE(StunMessage::parse(top));
  auto cookie = b;
  cookie[7] = 0x43;
  EXPECT_FALSE(StunMessage::parse(cookie));
  auto len = header(0x0001, 4);  // length claims 4 bytes that are not there
  EXPECT_FALSE(StunMessage::parse(len));
  auto odd = header(0x0001, 2);
  append(odd, {0, 0});
  EXPECT_FALSE(StunMessage::parse(odd));  // not a multiple of 4
  auto extra = header(0x0001, 0);
  append(extra, {0, 0, 0, 0});  // datagram longer than the header says
  EXPECT_FALSE(StunMessage::parse(extra));
}

TEST(StunParseTest, RejectsAttributesOutOfBounds) {
  auto b = header(0x0001, 8);
  append(b, {0x00, 0x06, 0x00, 0x05, 'a', 'b', 'c', 'd'});  // value + padding needs 8 bytes
  EXPECT_FALSE(StunMessage::parse(b));
  auto c = header(0x0001, 8);
  append(c, {0x00, 0x06, 0xFF, 0xFF, 'a', 'b', 'c', 'd'});
  EXPECT_FALSE(StunMessage::parse(c));
  auto d = header(0x0001, 8);
  append(d, {0x00, 0x06, 0x00, 0x04, 'a', 'b', 'c', 'd'});
  const auto ok = StunMessage::parse(d);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->username(), "abcd");
}

TEST(StunParseTest, ZeroLengthAttributesAndCountLimit) {
  std::vector<uint8_t> b = header(0x0001, static_cast<uint16_t>(4 * kMaxAttributes));
  for (size_t i = 0; i < kMaxAttributes; ++i) append(b, {0x00, 0x25, 0x00, 0x00});
  const auto m = StunMessage::parse(b);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->useCandidate());
  EXPECT_EQ(m->attributeCount(), kMaxAttributes);
  b = header(0x0001, static_cast<uint16_t>(4 * (kMaxAttributes + 1)));
  for (size_t i = 0; i <= kMaxAttributes; ++i) append(b, {0x00, 0x25, 0x00, 0x00});
  EXPECT_FALSE(StunMessage::parse(b));
}

TEST(StunParseTest, FingerprintMustBeLastAndIntegrityLengthsChecked) {
  auto b = header(0x0001, 16);
  append(b, {0x80, 0x28, 0x00, 0x04, 0, 0, 0, 0, 0x00, 0x25, 0x00, 0x00, 0x00, 0x25, 0, 0});
  EXPECT_FALSE(StunMessage::parse(b));
  auto mi = header(0x0001, 20);
  append(mi, {0x00, 0x08, 0x00, 0x10});
  mi.resize(mi.size() + 16);
  EXPECT_FALSE(StunMessage::parse(mi));  // MESSAGE-INTEGRITY must be 20 bytes
  auto mi256 = header(0x0001, 16);
  append(mi256, {0x00, 0x1C, 0x00, 0x0C});
  mi256.resize(mi256.size() + 12);
  EXPECT_FALSE(StunMessage::parse(mi256));  // MESSAGE-INTEGRITY-SHA256 must be >= 16
}

TEST(StunParseTest, UnknownComprehensionRequiredReported) {
  auto b = header(0x0001, 20);
  append(b, {0x7F, 0x01, 0x00, 0x00,              // unknown, comprehension-required
             0xC0, 0x57, 0x00, 0x04, 0, 1, 0, 0,  // unknown, optional (GOOG-NETWORK-INFO)
             0x7F, 0x01, 0x00, 0x00,              // duplicate reported once
             0x00, 0x2F, 0x00, 0x00});            // another unknown
  const auto m = StunMessage::parse(b);
  ASSERT_TRUE(m);
  uint16_t out[4] = {};
  EXPECT_EQ(m->unknownComprehensionRequired(out), 2u);
  EXPECT_EQ(out[0], 0x7F01);
  EXPECT_EQ(out[1], 0x002F);
  uint16_t one[1] = {};
  EXPECT_EQ(m->unknownComprehensionRequired(one), 2u);  // count beyond the output size
}

TEST(StunParseTest, AttributesAfterIntegrityIgnoredExceptFingerprint) {
  uint8_t buf[256];
  StunBuilder b(buf, MessageClass::kRequest, method::kBinding, kTid);
  b.addString(attr::kUsername, "alice:bob");
  b.addMessageIntegrity(keyBytes("pw"));
  b.addU32(attr::kPriority, 42);  // after MI: must be ignored
  b.addU32(0x7F00, 1);            // unknown after MI: not reported
  const auto out = b.finish();
  ASSERT_TRUE(out);
  const auto m = StunMessage::parse(*out);
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->priority());
  uint16_t unknown[2];
  EXPECT_EQ(m->unknownComprehensionRequired(unknown), 0u);
  // Integrity holds even though the length field covers the trailing attributes (§14.5).
  EXPECT_EQ(checkMessageIntegrity(*m, keyBytes("pw")), IntegrityResult::kOk);
}

TEST(StunParseTest, DuplicateAttributeFirstWins) {
  auto b = header(0x0001, 16);
  append(b, {0x00, 0x24, 0x00, 0x04, 0, 0, 0, 1, 0x00, 0x24, 0x00, 0x04, 0, 0, 0, 2});
  const auto m = StunMessage::parse(b);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->priority(), 1u);
}

TEST(StunParseTest, MalformedTypedValuesAreNullopt) {
  auto b = header(0x0001, 36);
  append(b, {0x00, 0x20, 0x00, 0x08, 0,    0x03, 0, 0, 1, 2, 3, 4,  // family 3
             0x00, 0x24, 0x00, 0x02, 0,    0,    0, 0,              // PRIORITY of 2 bytes
             0x00, 0x09, 0x00, 0x04, 0,    0,    7, 0,              // class 7
             0x00, 0x0C, 0x00, 0x04, 0x3F, 0xFF, 0, 0});            // channel below 0x4000
  const auto m = StunMessage::parse(b);
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->xorMappedAddress());
  EXPECT_FALSE(m->priority());
  EXPECT_FALSE(m->errorCode());
  EXPECT_FALSE(m->channelNumber());
}

TEST(StunBuilderTest, TurnAttributesRoundTrip) {
  uint8_t buf[512];
  StunBuilder b(buf, MessageClass::kErrorResponse, method::kAllocate, kTid);
  const auto peer6 =
      StunAddress::ipv6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 5000);
  const auto relayed = StunAddress::ipv4({203, 0, 113, 7}, 49152);
  const uint16_t unknown[] = {0x7F01, 0x0030};
  EXPECT_TRUE(b.addErrorCode(420, "Unknown Attribute"));
  EXPECT_TRUE(b.addUnknownAttributes(unknown));
  EXPECT_TRUE(b.addXorAddress(attr::kXorPeerAddress, peer6));
  EXPECT_TRUE(b.addXorAddress(attr::kXorPeerAddress, relayed));
  EXPECT_TRUE(b.addXorAddress(attr::kXorRelayedAddress, relayed));
  EXPECT_TRUE(b.addAddress(attr::kMappedAddress, relayed));
  EXPECT_TRUE(b.addChannelNumber(0x4001));
  EXPECT_TRUE(b.addU32(attr::kLifetime, 600));
  EXPECT_TRUE(b.addRequestedTransport(kTransportUdp));
  EXPECT_TRUE(b.addAddressFamily(attr::kRequestedAddressFamily, StunAddress::Family::kIPv6));
  EXPECT_TRUE(b.addAddressFamily(attr::kAdditionalAddressFamily, StunAddress::Family::kIPv6));
  EXPECT_TRUE(b.addEvenPort(true));
  EXPECT_TRUE(b.addEmpty(attr::kDontFragment));
  EXPECT_TRUE(b.addU64(attr::kReservationToken, 0x0102030405060708ull));
  EXPECT_TRUE(b.addU32(attr::kConnectionId, 77));
  const uint8_t payload[] = {9, 8, 7};
  EXPECT_TRUE(b.addAttribute(attr::kData, payload));
  EXPECT_TRUE(b.addString(attr::kRealm, "medrelay"));
  EXPECT_TRUE(b.addString(attr::kNonce, "abc"));
  EXPECT_TRUE(b.addMessageIntegrity(keyBytes("k")));
  EXPECT_TRUE(b.addMessageIntegritySha256(keyBytes("k"), 16));
  EXPECT_TRUE(b.addFingerprint());
  EXPECT_FALSE(b.addU32(attr::kLifetime, 1));  // nothing after FINGERPRINT
  EXPECT_FALSE(b.finish());

  // Rebuild without the failing call.
  StunBuilder c(buf, MessageClass::kErrorResponse, method::kAllocate, kTid);
  c.addErrorCode(420, "Unknown Attribute");
  c.addUnknownAttributes(unknown);
  c.addXorAddress(attr::kXorPeerAddress, peer6);
  c.addXorAddress(attr::kXorPeerAddress, relayed);
  c.addXorAddress(attr::kXorRelayedAddress, relayed);
  c.addAddress(attr::kMappedAddress, relayed);
  c.addChannelNumber(0x4001);
  c.addU32(attr::kLifetime, 600);
  c.addRequestedTransport(kTransportUdp);
  c.addAddressFamily(attr::kRequestedAddressFamily, StunAddress::Family::kIPv6);
  c.addAddressFamily(attr::kAdditionalAddressFamily, StunAddress::Family::kIPv6);
  c.addEvenPort(true);
  c.addEmpty(attr::kDontFragment);
  c.addU64(attr::kReservationToken, 0x0102030405060708ull);
  c.addU32(attr::kConnectionId, 77);
  c.addAttribute(attr::kData, payload);
  c.addString(attr::kRealm, "medrelay");
  c.addString(attr::kNonce, "abc");
  c.addMessageIntegrity(keyBytes("k"));
  c.addMessageIntegritySha256(keyBytes("k"), 16);
  c.addFingerprint();
  const auto out = c.finish();
  ASSERT_TRUE(out);

  const auto m = StunMessage::parse(*out);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->messageClass(), MessageClass::kErrorResponse);
  EXPECT_EQ(m->method(), method::kAllocate);
  ASSERT_TRUE(m->errorCode());
  EXPECT_EQ(m->errorCode()->code, 420);
  EXPECT_EQ(m->errorCode()->reason, "Unknown Attribute");
  uint16_t ua[4];
  EXPECT_EQ(m->unknownAttributes(ua), 2u);
  EXPECT_EQ(ua[1], 0x0030);
  EXPECT_EQ(m->xorPeerAddress(), peer6);
  StunAddress peers[4];
  EXPECT_EQ(m->xorPeerAddresses(peers), 2u);
  EXPECT_EQ(peers[1], relayed);
  EXPECT_EQ(m->xorRelayedAddress(), relayed);
  EXPECT_EQ(m->mappedAddress(), relayed);
  EXPECT_EQ(m->channelNumber(), 0x4001);
  EXPECT_EQ(m->lifetime(), 600u);
  EXPECT_EQ(m->requestedTransport(), kTransportUdp);
  EXPECT_EQ(m->requestedAddressFamily(), StunAddress::Family::kIPv6);
  EXPECT_EQ(m->additionalAddressFamily(), StunAddress::Family::kIPv6);
  EXPECT_EQ(m->evenPort(), true);
  EXPECT_TRUE(m->dontFragment());
  EXPECT_EQ(m->reservationToken(), 0x0102030405060708ull);
  EXPECT_EQ(m->connectionId(), 77u);
  ASSERT_TRUE(m->data());
  EXPECT_EQ(m->data()->size(), 3u);
  EXPECT_EQ(m->realm(), "medrelay");
  EXPECT_EQ(m->nonce(), "abc");
  EXPECT_EQ(checkMessageIntegrity(*m, keyBytes("k")), IntegrityResult::kOk);
  EXPECT_EQ(checkMessageIntegritySha256(*m, keyBytes("k")), IntegrityResult::kOk);
  EXPECT_EQ(checkMessageIntegritySha256(*m, keyBytes("K")), IntegrityResult::kMismatch);
  EXPECT_EQ(m->messageIntegritySha256()->size(), 16u);
  EXPECT_EQ(checkFingerprint(*m), IntegrityResult::kOk);
  uint16_t unknownTypes[2];
  EXPECT_EQ(m->unknownComprehensionRequired(unknownTypes), 0u);
}

TEST(StunBuilderTest, OverflowIsStickyAndNeverWritesPastBuffer) {
  std::vector<uint8_t> buf(40, 0xEE);
  StunBuilder b(std::span<uint8_t>(buf.data(), 32), MessageClass::kRequest, method::kBinding, kTid);
  EXPECT_TRUE(b.addU32(attr::kPriority, 1));   // 28 bytes
  EXPECT_FALSE(b.addU32(attr::kLifetime, 1));  // would need 36
  EXPECT_FALSE(b.addEmpty(attr::kUseCandidate));
  EXPECT_FALSE(b.finish());
  for (size_t i = 32; i < buf.size(); ++i) EXPECT_EQ(buf[i], 0xEE);
  uint8_t tiny[10];
  StunBuilder t(tiny, MessageClass::kRequest, method::kBinding, kTid);
  EXPECT_FALSE(t.ok());
  uint8_t big[64];
  StunBuilder e(big, MessageClass::kRequest, method::kBinding, kTid);
  EXPECT_FALSE(e.addErrorCode(200, "no"));
}

TEST(StunBuilderTest, EmptyKeyIsNotPreviousKey) {
  // The HMAC context is cached per thread: an empty key must not reuse the last key.
  uint8_t buf[64];
  StunBuilder a(buf, MessageClass::kRequest, method::kBinding, kTid);
  a.addMessageIntegrity(keyBytes("secret"));
  const auto m = StunMessage::parse(*a.finish());
  ASSERT_TRUE(m);
  EXPECT_EQ(checkMessageIntegrity(*m, keyBytes("")), IntegrityResult::kMismatch);
  EXPECT_EQ(checkMessageIntegrity(*m, keyBytes("secret")), IntegrityResult::kOk);
}

TEST(StunMethodTest, TypeEncoding) {
  EXPECT_EQ(messageType(method::kBinding, MessageClass::kRequest), 0x0001);
  EXPECT_EQ(messageType(method::kBinding, MessageClass::kSuccessResponse), 0x0101);
  EXPECT_EQ(messageType(method::kBinding, MessageClass::kErrorResponse), 0x0111);
  EXPECT_EQ(messageType(method::kSend, MessageClass::kIndication), 0x0016);
  EXPECT_EQ(messageType(method::kData, MessageClass::kIndication), 0x0017);
  for (uint16_t m = 0; m < 0x1000; m += 7) {
    for (int c = 0; c < 4; ++c) {
      const auto t = messageType(m, static_cast<MessageClass>(c));
      EXPECT_EQ(methodOf(t), m);
      EXPECT_EQ(classOf(t), static_cast<MessageClass>(c));
    }
  }
}

TEST(ChannelDataTest, DemuxAndFraming) {
  const uint8_t stun[20] = {0x00, 0x01, 0, 0, 0x21, 0x12, 0xA4, 0x42};
  EXPECT_TRUE(isStun(stun));
  EXPECT_EQ(classifyPacket(stun), PacketKind::kStun);
  const uint8_t dtls[] = {22};
  EXPECT_EQ(classifyPacket(dtls), PacketKind::kDtls);
  const uint8_t rtp[] = {0x80};
  EXPECT_EQ(classifyPacket(rtp), PacketKind::kRtpRtcp);
  EXPECT_FALSE(isStun(rtp));

  const uint8_t udp[] = {0x40, 0x01, 0x00, 0x03, 'a', 'b', 'c'};
  const auto cd = parseChannelData(udp, Framing::kDatagram);
  ASSERT_TRUE(cd);
  EXPECT_EQ(cd->channel, 0x4001);
  EXPECT_EQ(cd->data.size(), 3u);
  EXPECT_EQ(classifyPacket(udp), PacketKind::kTurnChannel);
  EXPECT_FALSE(parseChannelData(udp, Framing::kStream));  // TCP needs the padding byte
  const uint8_t tcp[] = {0x4F, 0xFF, 0x00, 0x03, 'a', 'b', 'c', 0};
  EXPECT_TRUE(parseChannelData(tcp, Framing::kStream));
  EXPECT_TRUE(parseChannelData(tcp, Framing::kDatagram));  // padding allowed over UDP
  EXPECT_EQ(channelDataFrameSize(tcp), 8u);
  const uint8_t longLen[] = {0x40, 0x00, 0x00, 0x09, 'a', 'b', 'c', 0};
  EXPECT_FALSE(parseChannelData(longLen, Framing::kDatagram));
  const uint8_t badChannel[] = {0x50, 0x00, 0x00, 0x00};
  EXPECT_FALSE(parseChannelData(badChannel, Framing::kDatagram));
  EXPECT_FALSE(channelDataFrameSize(badChannel));
  const uint8_t tooMuchPad[] = {0x40, 0x00, 0x00, 0x00, 0, 0, 0, 0};
  EXPECT_FALSE(parseChannelData(tooMuchPad, Framing::kDatagram));
  const uint8_t empty[] = {0x40, 0x00, 0x00, 0x00};
  EXPECT_TRUE(parseChannelData(empty, Framing::kStream));
  EXPECT_FALSE(parseChannelData(std::span(empty).first(3), Framing::kDatagram));

  uint8_t out[12] = {};
  out[4] = 'x';
  EXPECT_EQ(writeChannelDataHeader(out, 0x4002, 1, Framing::kStream), 8u);
  EXPECT_EQ(writeChannelDataHeader(out, 0x4002, 1, Framing::kDatagram), 5u);
  EXPECT_FALSE(writeChannelDataHeader(out, 0x3FFF, 1, Framing::kDatagram));
  EXPECT_FALSE(writeChannelDataHeader(out, 0x4000, 9, Framing::kStream));
}

std::string prep(std::string_view in) {
  char out[64];
  const auto n = saslPrep(in, out);
  return n ? std::string(out, *n) : std::string("<fail>");
}

TEST(SaslPrepTest, Rfc4013Examples) {
  EXPECT_EQ(prep("I\xC2\xADX"), "IX");  // SOFT HYPHEN mapped to nothing
  EXPECT_EQ(prep("user"), "user");
  EXPECT_EQ(prep("USER"), "USER");        // case preserved
  EXPECT_EQ(prep("\xC2\xAA"), "a");       // U+00AA -> a (NFKC)
  EXPECT_EQ(prep("\xE2\x85\xA8"), "IX");  // U+2168 -> IX (NFKC)
  EXPECT_EQ(prep("\x07"), "<fail>");      // prohibited: control character
  EXPECT_EQ(prep("a\xC2\xA0"
                 "b"),
            "a b");                           // NBSP -> space
  EXPECT_EQ(prep("\xEF\xBC\xA1"), "A");       // fullwidth A
  EXPECT_EQ(prep("\xEE\x80\x80"), "<fail>");  // private use
  EXPECT_EQ(prep("\xC3\xA9"), "\xC3\xA9");    // e-acute unchanged
  EXPECT_EQ(prep("\xC0\xAF"), "<fail>");      // overlong UTF-8
  EXPECT_EQ(prep("\xED\xA0\x80"), "<fail>");  // surrogate
  EXPECT_EQ(prep("\xE2\x82"), "<fail>");      // truncated
  char small[2];
  EXPECT_FALSE(saslPrep("abc", small));
}

}  // namespace
}  // namespace medrelay::net::stun
