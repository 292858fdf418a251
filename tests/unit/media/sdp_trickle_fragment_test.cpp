#include <gtest/gtest.h>

#include "media/sdp/sdp_errors.h"
#include "media/sdp/trickle_fragment.h"

namespace medrelay::media::sdp {
namespace {

// RFC 8840 §5.1 / RFC 9725 §4.3.1 style body, as a browser's WHIP client sends it.
const char* kFragment =
    "a=ice-options:trickle ice2\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "a=mid:0\r\n"
    "a=ice-ufrag:EsAw\r\n"
    "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n"
    "a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0\r\n"
    "a=candidate:3471623853 1 udp 2122194687 8d1b8e4e-2f7a-4d53-9c2f-1e6f7d4f9a01.local 61765 "
    "typ host generation 0\r\n"
    "a=candidate:473322822 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active\r\n"
    "a=end-of-candidates\r\n";

TEST(SdpTrickleFragment, ParsesCredentialsCandidatesAndEnd) {
  auto f = parseTrickleFragment(kFragment);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->iceUfrag, "EsAw");
  EXPECT_EQ(f->icePwd, "P2uYro0UCOQ4zxjKXaWCBui1");
  EXPECT_EQ(f->iceOptions, (std::vector<std::string>{"trickle", "ice2"}));
  ASSERT_EQ(f->sections.size(), 1u);
  EXPECT_EQ(f->sections[0].mid, "0");
  ASSERT_EQ(f->sections[0].candidates.size(), 3u);
  EXPECT_FALSE(f->sections[0].candidates[0].mdns);
  EXPECT_TRUE(f->sections[0].candidates[1].mdns);
  EXPECT_EQ(f->sections[0].candidates[2].tcpType, "active");
  EXPECT_TRUE(f->sections[0].endOfCandidates);
  EXPECT_TRUE(f->endOfCandidates);
}

TEST(SdpTrickleFragment, DetectsIceRestart) {
  auto f = parseTrickleFragment(kFragment);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->isIceRestart("EsAw", "P2uYro0UCOQ4zxjKXaWCBui1"));
  EXPECT_TRUE(f->isIceRestart("old1", "oldpasswordoldpassword"));
  EXPECT_TRUE(f->isIceRestart("EsAw", "differentpassword00000"));
  auto noCreds = parseTrickleFragment(
      "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
      "a=candidate:1 1 udp 1 192.0.2.1 5000 typ host\r\n");
  ASSERT_TRUE(noCreds.ok());
  EXPECT_FALSE(noCreds->isIceRestart("EsAw", "P2uYro0UCOQ4zxjKXaWCBui1"));
  EXPECT_FALSE(noCreds->endOfCandidates);
}

TEST(SdpTrickleFragment, SessionLevelEndOfCandidatesAndSeveralSections) {
  auto f = parseTrickleFragment(
      "a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\na=end-of-candidates\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 0\na=mid:a\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=mid:v\n"
      "a=candidate:2 1 udp 5 192.0.2.9 7000 typ host\n");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_TRUE(f->endOfCandidates);
  ASSERT_EQ(f->sections.size(), 2u);
  EXPECT_EQ(f->sections[1].mid, "v");
  EXPECT_EQ(f->sections[1].candidates[0].port, 7000);
}

TEST(SdpTrickleFragment, Errors) {
  auto half = parseTrickleFragment("a=ice-ufrag:abcd\r\n");
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.error().code, kErrorInvalidOffer);
  auto garbage = parseTrickleFragment("hello world\r\n");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, kErrorSyntax);
  EXPECT_NE(garbage.error().message.find("line 1"), std::string::npos);
  auto bigUfrag = parseTrickleFragment("a=ice-ufrag:" + std::string(300, 'u') + "\r\n");
  EXPECT_FALSE(bigUfrag.ok());
  auto empty = parseTrickleFragment("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->sections.empty());
}

}  // namespace
}  // namespace medrelay::media::sdp
