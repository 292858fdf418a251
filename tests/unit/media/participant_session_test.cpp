// transportParams: what a session's WebRtcTransport is given from a negotiated answer.
#include "media/participant_session.h"

#include <gtest/gtest.h>

#include "media/sdp/sdp_parser.h"
#include "tests/unit/media/sdp_test_util.h"

namespace medrelay::media {
namespace {

using sdp::testing::capturedOffer;
using sdp::testing::replaceAll;
using sdp::testing::testTransport;

Result<sdp::Answer> answerTo(const std::string& text) {
  auto offer = sdp::parseSdp(text);
  if (!offer) return offer.error();
  return sdp::negotiateAnswer(offer.value(), sdp::Capabilities{}, testTransport(), {});
}

TEST(TransportParams, CarriesBothCredentialsTheFingerprintAndOurDtlsRole) {
  auto a = answerTo(capturedOffer("chromium_publish.sdp"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  const sdp::LocalTransport local = testTransport();
  auto p = transportParams(local, a->session);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->localUfrag, local.iceUfrag);
  EXPECT_EQ(p->localPassword, local.icePwd);
  EXPECT_EQ(p->remoteUfrag, a->session.remoteIceUfrag);
  EXPECT_EQ(p->remotePassword, a->session.remoteIcePwd);
  EXPECT_FALSE(p->remoteUfrag.empty());
  EXPECT_EQ(p->remoteFingerprint.hex(), a->session.remoteFingerprint.value);
  EXPECT_EQ(p->dtlsRole, DtlsRole::kServer);  // actpass offer: we answer passive
}

TEST(TransportParams, PassiveOfferMakesUsTheDtlsClient) {
  auto a = answerTo(
      replaceAll(capturedOffer("chromium_publish.sdp"), "a=setup:actpass", "a=setup:passive"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  auto p = transportParams(testTransport(), a->session);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->dtlsRole, DtlsRole::kClient);
}

TEST(TransportParams, UnparsableFingerprintIsRefused) {
  auto a = answerTo(capturedOffer("chromium_publish.sdp"));
  ASSERT_TRUE(a.ok());
  sdp::NegotiatedSession neg = a->session;
  neg.remoteFingerprint.value = "not:a:fingerprint";
  EXPECT_FALSE(transportParams(testTransport(), neg));
}

}  // namespace
}  // namespace medrelay::media
