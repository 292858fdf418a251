#include "media/sdp/sdp_parser.h"

#include <gtest/gtest.h>

#include "media/sdp/sdp_errors.h"
#include "media/sdp/sdp_writer.h"
#include "tests/unit/media/sdp_test_util.h"

namespace medrelay::media::sdp {
namespace {

using testing::capturedOffer;
using testing::capturedOfferNames;
using testing::replaceAll;

class CapturedOfferParse : public ::testing::TestWithParam<std::string> {};

TEST_P(CapturedOfferParse, ParsesWithTransportAndMids) {
  std::string text = capturedOffer(GetParam());
  ASSERT_FALSE(text.empty()) << GetParam();
  ASSERT_NE(text.find("\r\n"), std::string::npos) << "captures keep CRLF";
  auto r = parseSdp(text);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& d = r.value();
  ASSERT_GE(d.media.size(), 1u);
  ASSERT_NE(d.bundleGroup(), nullptr);
  for (const auto& m : d.media) {
    EXPECT_FALSE(m.mid.empty());
    bool sha256 = false;
    for (const auto& f : m.fingerprints.empty() ? d.fingerprints : m.fingerprints) {
      sha256 = sha256 || (f.algorithm == "sha-256" && f.bytes.size() == 32);
    }
    EXPECT_TRUE(sha256) << m.mid;
    EXPECT_FALSE((m.iceUfrag.empty() ? d.iceUfrag : m.iceUfrag).empty());
    EXPECT_EQ(m.setup == Setup::kNone ? d.setup : m.setup, Setup::kActpass);
  }
}

TEST_P(CapturedOfferParse, LfOnlyParsesTheSame) {
  std::string text = capturedOffer(GetParam());
  auto crlf = parseSdp(text);
  auto lf = parseSdp(replaceAll(text, "\r\n", "\n"));
  ASSERT_TRUE(crlf.ok() && lf.ok());
  EXPECT_EQ(writeSdp(crlf.value()), writeSdp(lf.value()));
}

TEST_P(CapturedOfferParse, WriterRoundTripIsStable) {
  auto first = parseSdp(capturedOffer(GetParam()));
  ASSERT_TRUE(first.ok());
  std::string once = writeSdp(first.value());
  auto second = parseSdp(once);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(once, writeSdp(second.value()));
}

INSTANTIATE_TEST_SUITE_P(Clients, CapturedOfferParse, ::testing::ValuesIn(capturedOfferNames()),
                         [](const auto& p) {
                           std::string n = p.param.substr(0, p.param.find('.'));
                           return n;
                         });

TEST(SdpParser, ChromiumPublishDetails) {
  auto r = parseSdp(capturedOffer("chromium_publish.sdp"));
  ASSERT_TRUE(r.ok());
  const auto& d = r.value();
  EXPECT_TRUE(d.extmapAllowMixed);
  EXPECT_EQ(d.msidSemantic, "WMS 2e35a369-5e4b-4cb3-83c6-3be01d36bca8");
  ASSERT_EQ(d.media.size(), 2u);
  const auto& audio = d.media[0];
  EXPECT_EQ(audio.kind, "audio");
  EXPECT_EQ(audio.port, 43838);
  EXPECT_EQ(audio.proto, "UDP/TLS/RTP/SAVPF");
  EXPECT_EQ(audio.direction, MediaDirection::kSendOnly);
  EXPECT_TRUE(audio.rtcpMux);
  EXPECT_TRUE(audio.rtcpRsize);
  EXPECT_EQ(audio.candidates.size(), 8u);
  EXPECT_EQ(audio.candidates[4].transport, "tcp");
  EXPECT_EQ(audio.candidates[4].tcpType, "active");
  EXPECT_EQ(audio.candidates[2].address, "::1");
  ASSERT_EQ(audio.extMaps.size(), 4u);
  EXPECT_EQ(audio.extMaps[0].id, 1);
  EXPECT_EQ(audio.extMaps[0].uri, "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
  ASSERT_NE(audio.rtpMap(111), nullptr);
  EXPECT_EQ(audio.rtpMap(111)->channels, 2u);
  EXPECT_EQ(audio.fmtp(111)->get("useinbandfec"), "1");
  ASSERT_TRUE(audio.msid.has_value());
  EXPECT_EQ(audio.msid->trackId, "a89bde52-9ec9-4639-adcf-f5dee7225833");
  const auto& video = d.media[1];
  EXPECT_EQ(video.formats.size(), 23u);
  EXPECT_EQ(video.fmtp(102)->get("profile-level-id"), "42001f");
  EXPECT_EQ(video.fmtp(120), nullptr);  // ulpfec has no fmtp
  ASSERT_EQ(video.ssrcGroups.size(), 1u);
  EXPECT_EQ(video.ssrcGroups[0].semantics, "FID");
  EXPECT_EQ(video.ssrcGroups[0].ssrcs, (std::vector<uint32_t>{1881523348u, 984047998u}));
  EXPECT_EQ(video.ssrcs(), (std::vector<uint32_t>{1881523348u, 984047998u}));
  int fbFor96 = 0;
  for (const auto& fb : video.rtcpFbs) fbFor96 += fb.payloadType == 96;
  EXPECT_EQ(fbFor96, 5);
  EXPECT_EQ(d.media[0].fingerprints[0].value.substr(0, 8), "5C:71:8B");
}

TEST(SdpParser, ChromiumSimulcastRids) {
  auto r = parseSdp(capturedOffer("chromium_publish_simulcast.sdp"));
  ASSERT_TRUE(r.ok());
  const auto& video = r.value().media[1];
  ASSERT_EQ(video.rids.size(), 3u);
  EXPECT_EQ(video.rids[0].id, "h");
  EXPECT_EQ(video.rids[2].direction, "send");
  EXPECT_EQ(video.simulcast, "send h;m;l");
}

TEST(SdpParser, MdnsCandidatesAreFlagged) {
  auto r = parseSdp(capturedOffer("chromium_subscribe_mdns.sdp"));
  ASSERT_TRUE(r.ok());
  const auto& c = r.value().media[0].candidates;
  ASSERT_EQ(c.size(), 2u);
  EXPECT_TRUE(c[0].mdns);
  EXPECT_TRUE(c[0].address.ends_with(".local"));
  auto plain = parseSdp(capturedOffer("chromium_subscribe.sdp"));
  EXPECT_FALSE(plain.value().media[0].candidates[0].mdns);
}

TEST(SdpParser, GstreamerBundleOnlyAtPortZero) {
  auto r = parseSdp(capturedOffer("gstreamer_publish.sdp"));
  ASSERT_TRUE(r.ok());
  const auto& d = r.value();
  EXPECT_EQ(d.bundleGroup()->mids, (std::vector<std::string>{"video0", "audio1"}));
  EXPECT_EQ(d.media[1].port, 0);
  EXPECT_TRUE(d.media[1].bundleOnly);
  EXPECT_TRUE(d.media[1].rtcpMuxOnly);
  EXPECT_EQ(d.media[1].rtpMap(97)->encoding, "OPUS");
  EXPECT_FALSE(d.media[0].bundleOnly);
}

TEST(SdpParser, DataChannelSection) {
  auto r = parseSdp(capturedOffer("node_datachannel_datachannel.sdp"));
  ASSERT_TRUE(r.ok());
  const auto& d = r.value();
  ASSERT_EQ(d.media.size(), 1u);
  EXPECT_EQ(d.media[0].kind, "application");
  EXPECT_EQ(d.media[0].proto, "UDP/DTLS/SCTP");
  EXPECT_EQ(d.media[0].sctpPort, 5000);
  EXPECT_EQ(d.media[0].maxMessageSize, 262144u);
  EXPECT_EQ(d.fingerprints.size(), 1u);  // session-level only
  EXPECT_TRUE(d.media[0].fingerprints.empty());
  EXPECT_EQ(d.iceOptions, (std::vector<std::string>{"ice2", "trickle"}));
}

TEST(SdpParser, FingerprintAlgorithms) {
  std::string base = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
  auto r = parseSdp(base +
                    "a=fingerprint:SHA-1 "
                    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33\r\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().fingerprints[0].algorithm, "sha-1");
  EXPECT_EQ(r.value().fingerprints[0].bytes.size(), 20u);
  std::string sha512 = "a=fingerprint:sha-512 ";
  for (int i = 0; i < 64; ++i) sha512 += (i ? ":" : "") + std::string("ab");
  auto r512 = parseSdp(base + sha512 + "\r\n");
  ASSERT_TRUE(r512.ok());
  EXPECT_EQ(r512.value().fingerprints[0].value.substr(0, 5), "AB:AB");
  auto shortSha256 = parseSdp(base + "a=fingerprint:sha-256 00:11\r\n");
  ASSERT_FALSE(shortSha256.ok());
  EXPECT_NE(shortSha256.error().message.find("line 5"), std::string::npos);
}

struct BadInput {
  const char* name;
  std::string text;
  const char* code;
  const char* messagePart;
};

class MalformedSdp : public ::testing::TestWithParam<BadInput> {};

TEST_P(MalformedSdp, GivesClearError) {
  auto r = parseSdp(GetParam().text);
  ASSERT_FALSE(r.ok()) << GetParam().name;
  EXPECT_EQ(r.error().code, GetParam().code);
  EXPECT_NE(r.error().message.find(GetParam().messagePart), std::string::npos) << r.error().message;
}

const std::string kHead = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";

INSTANTIATE_TEST_SUITE_P(
    Inputs, MalformedSdp,
    ::testing::Values(
        BadInput{"empty", "", kErrorSyntax, "missing v="},
        BadInput{"blank_lines", "\r\n\r\n", kErrorSyntax, "missing v="},
        BadInput{"no_version", "o=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n", kErrorSyntax,
                 "line 1: expected v=0"},
        BadInput{"version_1", "v=1\r\n", kErrorSyntax, "expected v=0"},
        BadInput{"no_origin", "v=0\r\ns=-\r\nt=0 0\r\n", kErrorSyntax, "missing o="},
        BadInput{"short_origin", "v=0\r\no=- 1\r\n", kErrorSyntax, "line 2: o= needs 6"},
        BadInput{"not_sdp", "GET / HTTP/1.1\r\nHost: x\r\n", kErrorSyntax, "line 1"},
        BadInput{"binary", std::string("v=0\r\n\x01\x02\xff=\x00zz", 12), kErrorSyntax, "line 2"},
        BadInput{"m_port", kHead + "m=audio abc UDP/TLS/RTP/SAVPF 111\r\n", kErrorSyntax,
                 "line 5: bad port"},
        BadInput{"m_port_range", kHead + "m=audio 70000 UDP/TLS/RTP/SAVPF 111\r\n", kErrorSyntax,
                 "bad port"},
        BadInput{"m_fields", kHead + "m=audio 9 UDP/TLS/RTP/SAVPF\r\n", kErrorSyntax,
                 "line 5: m= needs"},
        BadInput{"rtpmap_pt", kHead + "m=audio 9 RTP/AVP 0\r\na=rtpmap:300 opus/48000/2\r\n",
                 kErrorSyntax, "line 6: bad payload type"},
        BadInput{"rtpmap_clock", kHead + "m=audio 9 RTP/AVP 0\r\na=rtpmap:96 opus\r\n",
                 kErrorSyntax, "clock rate"},
        BadInput{"extmap_id", kHead + "m=audio 9 RTP/AVP 0\r\na=extmap:0 urn:x\r\n", kErrorSyntax,
                 "bad id in a=extmap"},
        BadInput{"setup", kHead + "a=setup:sideways\r\n", kErrorSyntax, "a=setup"},
        BadInput{"fingerprint_hex", kHead + "a=fingerprint:sha-256 ZZ:11\r\n", kErrorSyntax,
                 "fingerprint"},
        BadInput{"ssrc", kHead + "m=audio 9 RTP/AVP 0\r\na=ssrc:x cname:y\r\n", kErrorSyntax,
                 "a=ssrc"},
        BadInput{"huge_line", kHead + "a=x:" + std::string(5000, 'x') + "\r\n", kErrorTooLarge,
                 "line 5: longer than"},
        BadInput{"huge_input", kHead + std::string(300 * 1024, '\n'), kErrorTooLarge,
                 "bytes, limit"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(SdpParser, LineAndMediaLimits) {
  std::string many = kHead;
  for (int i = 0; i < 9000; ++i) many += "a=x\r\n";
  auto r = parseSdp(many);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kErrorTooLarge);
  std::string media = kHead;
  for (int i = 0; i < 65; ++i) media += "m=audio 9 RTP/AVP 0\r\n";
  auto m = parseSdp(media);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("media sections"), std::string::npos);
}

TEST(SdpParser, ToleratesUnknownLinesAndBadCandidates) {
  auto r = parseSdp(kHead +
                    "b=AS:30\r\nx=unknown\r\na=weird-thing:1 2 3\r\nm=audio 9 UDP/TLS/RTP/SAVPF "
                    "111\r\na=candidate:garbage\r\na=candidate:1 1 udp 1 1.2.3.4 9 typ host\r\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r.value().media[0].candidates.size(), 1u);
  EXPECT_EQ(r.value().media[0].candidates[0].address, "1.2.3.4");
}

TEST(SdpParser, SessionLevelDirectionIsTheDefault) {
  auto r = parseSdp(kHead +
                    "a=recvonly\r\nm=audio 9 RTP/AVP 0\r\nm=video 9 RTP/AVP 96\r\n"
                    "a=sendrecv\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().media[0].direction, MediaDirection::kRecvOnly);
  EXPECT_EQ(r.value().media[1].direction, MediaDirection::kSendRecv);
}

}  // namespace
}  // namespace medrelay::media::sdp

namespace medrelay::media::sdp {
namespace {

TEST(SdpParser, BoundsFormatsAndDuplicateCodecLines) {
  std::string head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
  std::string m = "m=video 9 UDP/TLS/RTP/SAVPF";
  for (int i = 0; i < 129; ++i) m += " 96";
  auto tooMany = parseSdp(head + m + "\r\n");
  ASSERT_FALSE(tooMany.ok());
  EXPECT_NE(tooMany.error().message.find("128 formats"), std::string::npos);
  auto dup = parseSdp(head +
                      "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n"
                      "a=rtpmap:96 H264/90000\r\na=fmtp:96 a=1\r\na=fmtp:96 a=2\r\n");
  ASSERT_TRUE(dup.ok());
  ASSERT_EQ(dup.value().media[0].rtpMaps.size(), 1u);
  EXPECT_EQ(dup.value().media[0].rtpMaps[0].encoding, "VP8");
  EXPECT_EQ(dup.value().media[0].fmtp(96)->get("a"), "1");
}

}  // namespace
}  // namespace medrelay::media::sdp
