#include <gtest/gtest.h>

#include "media/sdp/negotiator.h"
#include "media/sdp/sdp_errors.h"
#include "media/sdp/sdp_parser.h"
#include "tests/unit/media/sdp_test_util.h"

namespace medrelay::media::sdp {
namespace {

using testing::capturedOffer;
using testing::capturedOfferNames;
using testing::replaceAll;
using testing::testTracks;
using testing::testTransport;
using testing::withoutLines;

Result<Answer> answerTo(const std::string& offerText, const Capabilities& caps = {},
                        const std::vector<SendTrack>& tracks = {}) {
  auto offer = parseSdp(offerText);
  if (!offer) return offer.error();
  return negotiateAnswer(offer.value(), caps, testTransport(), tracks);
}

class CapturedOfferAnswer : public ::testing::TestWithParam<std::string> {};

// Every captured offer gets an answer that our parser reads back with the ICE-lite properties.
TEST_P(CapturedOfferAnswer, AnswerReparsesWithIceLiteProperties) {
  std::string name = GetParam();
  Capabilities caps;
  caps.dataChannels = true;
  bool subscribe = name.find("subscribe") != std::string::npos;
  auto offer = parseSdp(capturedOffer(name));
  ASSERT_TRUE(offer.ok());
  auto a = negotiateAnswer(offer.value(), caps, testTransport(),
                           subscribe ? testTracks() : std::vector<SendTrack>{});
  ASSERT_TRUE(a.ok()) << a.error().message;
  const std::string& sdp = a->sdp;
  // ice-lite is session-level only (Chromium ignores it in a media section).
  size_t firstM = sdp.find("\r\nm=");
  ASSERT_NE(firstM, std::string::npos);
  EXPECT_NE(sdp.substr(0, firstM).find("\r\na=ice-lite\r\n"), std::string::npos);
  EXPECT_EQ(sdp.find("a=ice-lite", firstM), std::string::npos);

  auto back = parseSdp(sdp);
  ASSERT_TRUE(back.ok()) << back.error().message;
  const auto& ans = back.value();
  EXPECT_TRUE(ans.iceLite);
  ASSERT_NE(ans.bundleGroup(), nullptr);
  ASSERT_EQ(ans.media.size(), offer->media.size());
  EXPECT_EQ(ans.bundleGroup()->mids, a->session.bundleMids);
  EXPECT_EQ(a->session.dtlsRole, DtlsRole::kServer);  // every capture is actpass
  for (size_t i = 0; i < ans.media.size(); ++i) {
    const auto& om = offer->media[i];
    const auto& am = ans.media[i];
    const auto& nm = a->session.media[i];
    ASSERT_TRUE(nm.accepted) << name << " m" << i << ": " << nm.rejectReason;
    EXPECT_EQ(am.mid, om.mid);
    EXPECT_EQ(am.kind, om.kind);
    EXPECT_EQ(am.port, 50000);
    EXPECT_EQ(am.setup, Setup::kPassive);
    ASSERT_EQ(am.fingerprints.size(), 1u);
    EXPECT_EQ(am.fingerprints[0].value, testTransport().fingerprint.value);
    EXPECT_EQ(am.iceUfrag, "srvU");
    ASSERT_EQ(am.candidates.size(), 2u);
    EXPECT_EQ(am.candidates[1].tcpType, "passive");
    EXPECT_TRUE(am.endOfCandidates);
    if (om.kind == "application") {
      EXPECT_EQ(am.sctpPort, 5000);
      continue;
    }
    EXPECT_TRUE(am.rtcpMux);
    // Offerer's PT numbers and extmap ids are kept.
    ASSERT_FALSE(am.formats.empty());
    EXPECT_EQ(am.formats[0], std::to_string(nm.payloadType));
    ASSERT_NE(om.rtpMap(nm.payloadType), nullptr);
    EXPECT_EQ(am.rtpMap(nm.payloadType)->encoding, om.rtpMap(nm.payloadType)->encoding);
    for (const auto& e : am.extMaps) {
      bool offered = false;
      for (const auto& oe : om.extMaps) offered = offered || (oe.id == e.id && oe.uri == e.uri);
      EXPECT_TRUE(offered) << e.uri;
    }
    MediaDirection want = subscribe ? MediaDirection::kSendOnly : MediaDirection::kRecvOnly;
    EXPECT_EQ(am.direction, want) << name << " m" << i;
    EXPECT_EQ(nm.direction, want);
    if (subscribe) {
      ASSERT_FALSE(am.ssrcAttrs.empty());
      EXPECT_EQ(am.msid->streamId, "srv-stream");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Clients, CapturedOfferAnswer, ::testing::ValuesIn(capturedOfferNames()),
                         [](const auto& p) { return p.param.substr(0, p.param.find('.')); });

TEST(SdpNegotiator, ChromiumPublishParameters) {
  auto a = answerTo(capturedOffer("chromium_publish.sdp"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  const auto& s = a->session;
  EXPECT_EQ(s.remoteIceUfrag, "tOMM");
  EXPECT_EQ(s.remoteIcePwd, "ho1le/jtEiVVo7I+Aa+zR7b5");
  EXPECT_EQ(s.remoteFingerprint.algorithm, "sha-256");
  EXPECT_EQ(s.remoteFingerprint.value.substr(0, 8), "5C:71:8B");
  const auto& audio = s.media[0];
  EXPECT_EQ(audio.kind, MediaKind::kAudio);
  EXPECT_EQ(audio.codec, Codec::kOpus);
  EXPECT_EQ(audio.payloadType, 111);
  EXPECT_EQ(audio.clockRate, 48000u);
  EXPECT_EQ(audio.channels, 2u);
  EXPECT_FALSE(audio.rtxPayloadType);
  EXPECT_EQ(audio.extensions.audioLevel, 1);
  EXPECT_EQ(audio.extensions.absSendTime, 2);
  EXPECT_EQ(audio.extensions.transportWideCc, 3);
  EXPECT_EQ(audio.extensions.mid, 4);
  EXPECT_TRUE(audio.feedback.transportCc);
  EXPECT_EQ(audio.remoteSsrcs, (std::vector<uint32_t>{531489375u}));
  const auto& video = s.media[1];
  EXPECT_EQ(video.codec, Codec::kVp8);
  EXPECT_EQ(video.payloadType, 96);
  EXPECT_EQ(video.rtxPayloadType, 97);
  EXPECT_EQ(video.clockRate, 90000u);
  EXPECT_EQ(video.extensions.mid, 4);
  EXPECT_EQ(video.extensions.rtpStreamId, 0);  // not enabled by default
  EXPECT_TRUE(video.feedback.nack && video.feedback.nackPli && video.feedback.ccmFir &&
              video.feedback.googRemb && video.feedback.transportCc);
  EXPECT_TRUE(video.rtcpRsize);
  EXPECT_EQ(video.remoteSsrcs, (std::vector<uint32_t>{1881523348u}));
  ASSERT_EQ(video.remoteRtxSsrcs.size(), 1u);
  EXPECT_EQ(video.remoteRtxSsrcs[0], std::make_pair(1881523348u, 984047998u));
  // Answer lists exactly the chosen codec and its RTX, not red/ulpfec/others.
  auto back = parseSdp(a->sdp).value();
  EXPECT_EQ(back.media[1].formats, (std::vector<std::string>{"96", "97"}));
  EXPECT_EQ(back.media[1].fmtp(97)->get("apt"), "96");
  EXPECT_EQ(back.media[0].formats, (std::vector<std::string>{"111"}));
}

TEST(SdpNegotiator, H264ProfileChoice) {
  std::string offer = capturedOffer("chromium_publish.sdp");
  Capabilities caps;
  caps.videoCodecs = {Codec::kH264};
  auto cb = answerTo(offer, caps);
  ASSERT_TRUE(cb.ok());
  // Constrained baseline is preferred; packetization-mode=0 entries are never chosen.
  EXPECT_EQ(cb->session.media[1].payloadType, 108);
  EXPECT_EQ(cb->session.media[1].rtxPayloadType, 109);
  EXPECT_EQ(cb->session.media[1].fmtp,
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e034");
  caps.h264Profiles = {H264Profile::kMain};
  auto main = answerTo(offer, caps);
  ASSERT_TRUE(main.ok());
  EXPECT_EQ(main->session.media[1].payloadType, 116);
  caps.h264Profiles = {H264Profile::kBaseline};
  EXPECT_EQ(answerTo(offer, caps)->session.media[1].payloadType, 102);
  // Only packetization-mode=0 offered: H.264 is not acceptable, video is rejected.
  std::string pm0 = replaceAll(offer, "packetization-mode=1", "packetization-mode=0");
  caps.h264Profiles = {H264Profile::kConstrainedBaseline};
  auto rejected = answerTo(pm0, caps);
  ASSERT_TRUE(rejected.ok());
  EXPECT_FALSE(rejected->session.media[1].accepted);
  EXPECT_NE(rejected->sdp.find("m=video 0 "), std::string::npos);
}

TEST(SdpNegotiator, H264LevelWithoutAsymmetryIsCapped) {
  std::string offer = replaceAll(capturedOffer("aiortc_publish.sdp"),
                                 "level-asymmetry-allowed=1;packetization-mode=1;"
                                 "profile-level-id=42e01f",
                                 "packetization-mode=1;profile-level-id=640c34");
  Capabilities caps;
  caps.videoCodecs = {Codec::kH264};
  caps.h264Profiles = {H264Profile::kConstrainedHigh};
  caps.h264MaxLevelIdc = 0x1f;
  auto a = answerTo(offer, caps);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->session.media[1].payloadType, 101);
  EXPECT_EQ(a->session.media[1].fmtp, "packetization-mode=1;profile-level-id=640c1f");
}

TEST(SdpNegotiator, H264ProfileLevelIdParsing) {
  EXPECT_EQ(parseH264ProfileLevelId("42e01f")->profile, H264Profile::kConstrainedBaseline);
  EXPECT_EQ(parseH264ProfileLevelId("42001f")->profile, H264Profile::kBaseline);
  EXPECT_EQ(parseH264ProfileLevelId("4d001f")->profile, H264Profile::kMain);
  EXPECT_EQ(parseH264ProfileLevelId("4d801f")->profile, H264Profile::kConstrainedBaseline);
  EXPECT_EQ(parseH264ProfileLevelId("640c1f")->profile, H264Profile::kConstrainedHigh);
  EXPECT_EQ(parseH264ProfileLevelId("640032")->profile, H264Profile::kHigh);
  EXPECT_TRUE(parseH264ProfileLevelId("42f00b")->level1b);
  EXPECT_EQ(parseH264ProfileLevelId("42E01F")->levelIdc, 0x1f);
  EXPECT_FALSE(parseH264ProfileLevelId("42e01"));
  EXPECT_FALSE(parseH264ProfileLevelId("zze01f"));
  EXPECT_FALSE(parseH264ProfileLevelId("650c1f"));  // unknown profile_idc
  EXPECT_FALSE(parseH264ProfileLevelId("640f1f"));  // High with stray constraint bits
}

TEST(SdpNegotiator, Vp9Profile0OnlyWhenEnabled) {
  std::string offer = capturedOffer("chromium_publish.sdp");
  Capabilities caps;
  caps.videoCodecs = {Codec::kVp9};
  auto a = answerTo(offer, caps);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->session.media[1].codec, Codec::kVp9);
  EXPECT_EQ(a->session.media[1].payloadType, 98);  // profile-id=0, not 100 (profile 2)
  EXPECT_EQ(a->session.media[1].rtxPayloadType, 99);
  auto defaults = answerTo(offer);
  EXPECT_EQ(defaults->session.media[1].codec, Codec::kVp8);
}

TEST(SdpNegotiator, GstreamerBundleOnlyIsAccepted) {
  auto a = answerTo(capturedOffer("gstreamer_publish.sdp"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->session.bundleMids, (std::vector<std::string>{"video0", "audio1"}));
  ASSERT_TRUE(a->session.media[1].accepted);
  EXPECT_EQ(a->session.media[1].codec, Codec::kOpus);
  EXPECT_EQ(a->session.media[1].payloadType, 97);
  auto back = parseSdp(a->sdp).value();
  EXPECT_EQ(back.media[1].port, 50000);  // not rejected, and no bundle-only in an answer
  EXPECT_FALSE(back.media[1].bundleOnly);
  EXPECT_EQ(back.media[1].rtpMap(97)->encoding, "OPUS");
  EXPECT_EQ(back.bundleGroup()->mids, (std::vector<std::string>{"video0", "audio1"}));
  // Port 0 without bundle-only is a rejection.
  auto rejected =
      answerTo(replaceAll(capturedOffer("gstreamer_publish.sdp"), "a=bundle-only\r\n", ""));
  ASSERT_TRUE(rejected.ok());
  EXPECT_FALSE(rejected->session.media[1].accepted);
  EXPECT_EQ(rejected->session.bundleMids, (std::vector<std::string>{"video0"}));
  EXPECT_NE(rejected->sdp.find("m=audio 0 UDP/TLS/RTP/SAVPF 97"), std::string::npos);
}

TEST(SdpNegotiator, AiortcDuplicateExtensionIdIsDeterministic) {
  std::string offer = capturedOffer("aiortc_publish.sdp");
  auto a = answerTo(offer);
  auto b = answerTo(offer);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->sdp, b->sdp);
  const auto& audio = a->session.media[0];
  const auto& video = a->session.media[1];
  EXPECT_EQ(audio.extensions.audioLevel, 2);
  EXPECT_EQ(video.extensions.mid, 1);
  EXPECT_EQ(video.extensions.absSendTime, 0);  // id 2 already names audio-level in the bundle
  ASSERT_EQ(a->session.warnings.size(), 1u);
  EXPECT_NE(a->session.warnings[0].find("extmap id 2"), std::string::npos);
  // aiortc uses one ICE agent per m-line before bundling: the tag's credentials are used.
  EXPECT_EQ(a->session.remoteIceUfrag, "IItu");
}

TEST(SdpNegotiator, MdnsCandidatesDoNotMatter) {
  auto a = answerTo(capturedOffer("chromium_subscribe_mdns.sdp"), {}, testTracks());
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(a->session.media[0].accepted && a->session.media[1].accepted);
  EXPECT_EQ(a->session.media[1].sendTrack->rtxSsrc, 2002u);
  auto back = parseSdp(a->sdp).value();
  ASSERT_EQ(back.media[1].ssrcGroups.size(), 1u);
  EXPECT_EQ(back.media[1].ssrcGroups[0].ssrcs, (std::vector<uint32_t>{2001u, 2002u}));
  for (const auto& c : back.media[0].candidates) EXPECT_FALSE(c.mdns);
}

TEST(SdpNegotiator, RecvonlyWithoutTrackIsInactive) {
  auto a = answerTo(capturedOffer("chromium_subscribe.sdp"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->session.media[0].direction, MediaDirection::kInactive);
  EXPECT_EQ(a->session.warnings.size(), 2u);
}

TEST(SdpNegotiator, SendrecvOffer) {
  std::string offer = replaceAll(capturedOffer("chromium_publish.sdp"), "a=sendonly", "a=sendrecv");
  auto a = answerTo(offer, {}, {testTracks()[0]});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->session.media[0].direction, MediaDirection::kSendRecv);
  EXPECT_EQ(a->session.media[1].direction, MediaDirection::kRecvOnly);
}

TEST(SdpNegotiator, DtlsRoleFollowsOfferSetup) {
  std::string offer = capturedOffer("chromium_publish.sdp");
  auto passive = answerTo(replaceAll(offer, "a=setup:actpass", "a=setup:passive"));
  ASSERT_TRUE(passive.ok());
  EXPECT_EQ(passive->session.dtlsRole, DtlsRole::kClient);
  EXPECT_NE(passive->sdp.find("a=setup:active\r\n"), std::string::npos);
  auto active = answerTo(replaceAll(offer, "a=setup:actpass", "a=setup:active"));
  EXPECT_EQ(active->session.dtlsRole, DtlsRole::kServer);
  auto hold = answerTo(replaceAll(offer, "a=setup:actpass", "a=setup:holdconn"));
  ASSERT_FALSE(hold.ok());
  EXPECT_EQ(hold.error().code, kErrorInvalidOffer);
}

TEST(SdpNegotiator, DataChannelOnlyNeedsTheFlag) {
  std::string offer = capturedOffer("node_datachannel_datachannel.sdp");
  auto off = answerTo(offer);
  ASSERT_FALSE(off.ok());
  EXPECT_EQ(off.error().code, kErrorDataChannelDisabled);
  Capabilities caps;
  caps.dataChannels = true;
  caps.maxMessageSize = 65536;
  auto on = answerTo(offer, caps);
  ASSERT_TRUE(on.ok()) << on.error().message;
  EXPECT_EQ(on->session.media[0].remoteSctpPort, 5000);
  EXPECT_EQ(on->session.media[0].remoteMaxMessageSize, 262144u);
  EXPECT_NE(on->sdp.find("m=application 50000 UDP/DTLS/SCTP webrtc-datachannel\r\n"),
            std::string::npos);
  EXPECT_NE(on->sdp.find("a=max-message-size:65536\r\n"), std::string::npos);
  EXPECT_EQ(on->session.remoteIceUfrag, "WySn");  // media-level, fingerprint session-level
}

// aiortc 1.4 offers the older form (draft-ietf-mmusic-sctp-sdp-05); the answer keeps it.
TEST(SdpNegotiator, LegacySctpmapDataChannelIsAnsweredInItsForm) {
  std::string offer = replaceAll(capturedOffer("node_datachannel_datachannel.sdp"),
                                 "m=application 34789 UDP/DTLS/SCTP webrtc-datachannel",
                                 "m=application 34789 DTLS/SCTP 5001");
  offer = replaceAll(offer, "a=sctp-port:5000", "a=sctpmap:5001 webrtc-datachannel 65535");
  Capabilities caps;
  caps.dataChannels = true;
  caps.maxMessageSize = 65536;
  auto a = answerTo(offer, caps);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(a->session.media[0].accepted);
  EXPECT_TRUE(a->session.media[0].legacySctp);
  EXPECT_EQ(a->session.media[0].remoteSctpPort, 5001);
  EXPECT_NE(a->sdp.find("m=application 50000 DTLS/SCTP 5000\r\n"), std::string::npos) << a->sdp;
  EXPECT_NE(a->sdp.find("a=sctpmap:5000 webrtc-datachannel 1024\r\n"), std::string::npos);
  // Without the sctpmap it is not a data channel section.
  auto bad = answerTo(replaceAll(offer, "a=sctpmap:5001 webrtc-datachannel 65535\r\n", ""), caps);
  ASSERT_TRUE(!bad.ok() || !bad->session.media[0].accepted);
}

struct BadOffer {
  const char* name;
  std::string sdp;
  const char* code;
  const char* messagePart;
};

class RefusedOffer : public ::testing::TestWithParam<BadOffer> {};

TEST_P(RefusedOffer, GivesClearError) {
  auto a = answerTo(GetParam().sdp);
  ASSERT_FALSE(a.ok()) << GetParam().name;
  EXPECT_EQ(a.error().code, GetParam().code);
  EXPECT_NE(a.error().message.find(GetParam().messagePart), std::string::npos) << a.error().message;
}

std::string onlyH265() {
  std::string s =
      "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
      "a=fingerprint:sha-256 " +
      testTransport().fingerprint.value +
      "\r\nm=video 9 UDP/TLS/RTP/SAVPF 49\r\na=mid:0\r\na=ice-ufrag:abcd\r\n"
      "a=ice-pwd:abcdefghijklmnopqrstuv\r\na=setup:actpass\r\na=rtcp-mux\r\n"
      "a=rtpmap:49 H265/90000\r\na=sendonly\r\n";
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Offers, RefusedOffer,
    ::testing::Values(
        BadOffer{"no_fingerprint",
                 withoutLines(capturedOffer("chromium_publish.sdp"), "a=fingerprint"),
                 kErrorInvalidOffer, "missing a=fingerprint"},
        BadOffer{"only_sha1",
                 replaceAll(withoutLines(capturedOffer("chromium_publish.sdp"), "a=fingerprint"),
                            "a=setup:actpass",
                            "a=setup:actpass\r\na=fingerprint:sha-1 "
                            "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33"),
                 kErrorInvalidOffer, "no sha-256"},
        BadOffer{"no_ice_ufrag", withoutLines(capturedOffer("chromium_publish.sdp"), "a=ice-ufrag"),
                 kErrorInvalidOffer, "ice-ufrag"},
        BadOffer{"no_rtcp_mux", withoutLines(capturedOffer("aiortc_publish.sdp"), "a=rtcp-mux"),
                 kErrorInvalidOffer, "rtcp-mux is required"},
        BadOffer{"only_h265", onlyH265(), kErrorUnsupported, "H265/90000"},
        BadOffer{"duplicate_mid",
                 replaceAll(capturedOffer("gstreamer_publish.sdp"), "a=mid:audio1", "a=mid:video0"),
                 kErrorInvalidOffer, "duplicate a=mid"},
        BadOffer{"syntax", "v=0\r\nm=audio x\r\n", kErrorSyntax, "line 2"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(SdpNegotiator, SectionOutsideBundleIsRejected) {
  std::string offer =
      replaceAll(capturedOffer("chromium_publish.sdp"), "a=group:BUNDLE 0 1", "a=group:BUNDLE 1");
  auto a = answerTo(offer);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->session.media[0].accepted);
  EXPECT_EQ(a->session.media[0].rejectReason, "not in the BUNDLE group");
  EXPECT_EQ(a->session.bundleMids, (std::vector<std::string>{"1"}));
}

}  // namespace
}  // namespace medrelay::media::sdp
