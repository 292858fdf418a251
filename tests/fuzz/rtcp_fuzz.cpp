// RTCP fuzz target: compound parse, every typed view, NACK expansion, transport-cc decoding (and
// the downlink estimator consuming it) and in-place SSRC rewriting (after which the compound must
// still parse identically).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "media/downlink_estimator.h"
#include "media/rtp/rtcp_packet.h"

using namespace medrelay::media::rtcp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 8192) return 0;
  static uint8_t buf[8192];
  std::memcpy(buf, data, size);
  (void)isRtcp(std::span<const uint8_t>(buf, size));
  const auto c = Compound::parse(std::span<uint8_t>(buf, size));
  if (!c) return 0;
  (void)c->startsWithReport();
  for (const Item item : *c) {
    (void)item.body();
    if (const auto r = Report::parse(item)) {
      (void)r->ssrc();
      (void)r->senderInfo();
      for (size_t i = 0; i < r->blockCount(); ++i) (void)r->block(i);
    }
    if (const auto b = Bye::parse(item)) {
      for (size_t i = 0; i < b->ssrcCount(); ++i) (void)b->ssrc(i);
    }
    if (const auto fb = Feedback::parse(item)) {
      (void)fb->senderSsrc();
      (void)fb->mediaSsrc();
      if (const auto n = Nack::parse(*fb)) {
        uint16_t lost[64];
        const size_t total = n->lostSequences(lost);
        if (total < n->pairCount() || total > 17 * n->pairCount()) std::abort();
        // Rebuild from the expansion when it fit; the result must parse back.
        if (total <= 64) {
          uint8_t out[1024];
          const auto w = writeNack(out, 1, 2, std::span<const uint16_t>(lost, total));
          if (!w || !Compound::parse(std::span<uint8_t>(out, *w))) std::abort();
        }
      }
      if (const auto t = TransportCc::parse(*fb)) {
        size_t count = 0;
        if (t->forEachStatus([&](const TransportCc::Status&) { ++count; }) &&
            count != t->statusCount()) {
          std::abort();
        }
        // Any feedback — statuses for packets never sent, wild deltas and reference times —
        // leaves the estimate within its bounds.
        using medrelay::media::DownlinkEstimator;
        static DownlinkEstimator estimator;
        static int64_t clockUs = 0;
        for (int i = 0; i < 64; ++i) (void)estimator.onPacketSent(clockUs += 500, 1200);
        estimator.onFeedback(*t, clockUs);
        if (estimator.estimateBps() < DownlinkEstimator::kMinBps ||
            estimator.estimateBps() > DownlinkEstimator::kMaxBps) {
          std::abort();
        }
      }
      if (const auto f = Fir::parse(*fb)) {
        for (size_t i = 0; i < f->entryCount(); ++i) (void)f->entry(i);
      }
      if (const auto r = Remb::parse(*fb)) {
        (void)r->bitrate();
        for (size_t i = 0; i < r->ssrcCount(); ++i) (void)r->ssrc(i);
      }
    }
    rewriteSsrcs(item, [](uint32_t s) { return s ^ 0x5A5A5A5Au; });
  }
  const auto again = Compound::parse(std::span<uint8_t>(buf, size));
  if (!again || again->itemCount() != c->itemCount()) std::abort();
  return 0;
}
