// Codec micro-benchmarks: STUN parse + MESSAGE-INTEGRITY + FINGERPRINT (an ICE binding request),
// RTP parse + forwarding rewrite, RTCP compound parse. Figures only mean something in Release.
#include <benchmark/benchmark.h>

#include <array>
#include <cstring>
#include <vector>

#include "media/rtp/rtcp_packet.h"
#include "media/rtp/rtp_packet.h"
#include "media/rtp/rtp_sequence.h"
#include "net/stun/stun_builder.h"
#include "net/stun/stun_integrity.h"
#include "net/stun/stun_message.h"

namespace {

using namespace medrelay;

void BM_StunParseAndVerify(benchmark::State& state) {
  uint8_t buf[256];
  net::stun::StunBuilder b(buf, net::stun::MessageClass::kRequest, net::stun::method::kBinding,
                           {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  b.addString(net::stun::attr::kUsername, "abcd:efgh");
  b.addU32(net::stun::attr::kPriority, 0x6e0001ff);
  b.addU64(net::stun::attr::kIceControlling, 42);
  b.addEmpty(net::stun::attr::kUseCandidate);
  b.addMessageIntegrity(net::stun::keyBytes("0123456789abcdefghijkl"));
  b.addFingerprint();
  const auto wire = *b.finish();
  for (auto _ : state) {
    const auto m = net::stun::StunMessage::parse(wire);
    bool ok = m && net::stun::checkFingerprint(*m) == net::stun::IntegrityResult::kOk &&
              net::stun::checkMessageIntegrity(*m, net::stun::keyBytes("0123456789abcdefghijkl")) ==
                  net::stun::IntegrityResult::kOk;
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_StunParseAndVerify);

void BM_RtpParseAndRewrite(benchmark::State& state) {
  // VP8 packet with mid / abs-send-time / transport-cc extensions and a 1100-byte payload.
  std::vector<uint8_t> pkt = {0x90, 0xe0, 0x10, 0xe1, 0x12, 0x34, 0x56, 0x78, 0x11, 0x22,
                              0x33, 0x44, 0xbe, 0xde, 0x00, 0x03, 0x10, 0x30, 0x22, 0x12,
                              0x34, 0x56, 0x31, 0x03, 0x09, 0x00, 0x00, 0x00};
  pkt.resize(pkt.size() + 1100, 0x5A);
  std::array<uint8_t, 256> map{};
  for (size_t i = 0; i < map.size(); ++i) map[i] = static_cast<uint8_t>(i);
  map[3] = 5;
  map[5] = 3;
  media::RtpSeqTsRewriter rewriter(1000, 90000);
  uint16_t seq = 0;
  for (auto _ : state) {
    auto p = media::RtpPacket::parse(pkt);
    const auto out = rewriter.rewrite(seq++, p->timestamp());
    p->setSequenceNumber(out->sequence);
    p->setTimestamp(out->timestamp);
    p->setSsrc(0xCAFEBABE);
    p->remapExtensionIds(map);
    p->setAbsSendTime(2, 0x123456);
    benchmark::DoNotOptimize(pkt.data());
  }
}
BENCHMARK(BM_RtpParseAndRewrite);

void BM_RtcpCompoundParse(benchmark::State& state) {
  uint8_t buf[512];
  size_t off = 0;
  media::rtcp::SenderInfo info{0x11223344, 1, 2, 3, 4};
  media::rtcp::ReportBlock blocks[2] = {};
  off += *media::rtcp::writeSenderReport(std::span(buf).subspan(off), info, blocks);
  const uint16_t lost[] = {100, 101, 105, 120, 140};
  off += *media::rtcp::writeNack(std::span(buf).subspan(off), 1, 2, lost);
  off += *media::rtcp::writePli(std::span(buf).subspan(off), 1, 2);
  const uint32_t ssrcs[] = {2};
  off += *media::rtcp::writeRemb(std::span(buf).subspan(off), 1, 1500000, ssrcs);
  for (auto _ : state) {
    const auto c = media::rtcp::Compound::parse(std::span<uint8_t>(buf, off));
    size_t n = 0;
    for (const auto item : *c) {
      if (const auto r = media::rtcp::Report::parse(item)) n += r->blockCount();
      if (const auto fb = media::rtcp::Feedback::parse(item)) {
        if (const auto nack = media::rtcp::Nack::parse(*fb)) {
          uint16_t seqs[64];
          n += nack->lostSequences(seqs);
        }
      }
    }
    benchmark::DoNotOptimize(n);
  }
}
BENCHMARK(BM_RtcpCompoundParse);

}  // namespace
