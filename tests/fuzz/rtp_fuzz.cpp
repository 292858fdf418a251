// RTP fuzz target: parse, accessors, extension lookup/remap, abs-send-time/twcc setters, RTX
// round trip (must reproduce the unpadded original), VP8/H.264 keyframe checks, the VP8
// PictureID rewriter, header extension insertion (the payload and padding must survive it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "media/downlink_estimator.h"
#include "media/rtp/rtp_codecs.h"
#include "media/rtp/rtp_packet.h"
#include "media/rtp/rtp_sequence.h"

using namespace medrelay::media;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  static uint8_t buf[4096];
  std::memcpy(buf, data, size);
  auto p = RtpPacket::parse(std::span<uint8_t>(buf, size));
  if (!p) return 0;
  (void)p->marker();
  (void)p->payloadType();
  (void)p->sequenceNumber();
  (void)p->timestamp();
  (void)p->ssrc();
  for (size_t i = 0; i < p->csrcCount(); ++i) (void)p->csrc(i);
  (void)parseVp8Descriptor(p->payload());
  {
    // The rewriter writes only inside what the parser accepted: the payload's length is kept
    // and the descriptor still parses to the same size.
    static Vp8PictureIdRewriter vp8;
    const auto payload = p->payload();
    std::span<uint8_t> writable(buf + (payload.data() - buf), payload.size());
    const auto d = parseVp8Descriptor(payload);
    if (size % 3 == 0) vp8.switchSource();
    if (vp8.rewrite(writable) != d.has_value()) std::abort();
    if (d && parseVp8Descriptor(writable)->descriptorSize != d->descriptorSize) std::abort();
  }
  (void)h264IsKeyframe(p->payload());
  for (int id = 0; id < 256; ++id) (void)p->findExtension(static_cast<uint8_t>(id));
  (void)p->transportWideSeq(3);
  if (const auto sent = p->absSendTime(2)) {
    // The receive-side estimator takes any abs-send-time sequence.
    static DownlinkEstimator estimator;
    static int64_t clockUs = 0;
    estimator.onAbsSendTime(*sent, clockUs += 1000, static_cast<uint32_t>(size));
    if (estimator.estimateBps() < DownlinkEstimator::kMinBps) std::abort();
  }
  (void)p->setAbsSendTime(2, 0x123456);
  (void)p->setTransportWideSeq(3, 1);

  // RTX round trip on the packet (before remapping, so the bytes stay comparable).
  static uint8_t rtx[4200];
  static uint8_t back[4200];
  const auto n = buildRtx(*p, 97, 0x01020304, 7, rtx);
  if (!n) std::abort();  // rtx buffer is always large enough
  const auto r = RtpPacket::parse(std::span<uint8_t>(rtx, *n));
  if (!r) std::abort();
  const auto m = recoverFromRtx(*r, p->payloadType(), p->ssrc(), back);
  if (!m || *m != p->size() - p->paddingSize()) std::abort();
  const auto o = RtpPacket::parse(std::span<uint8_t>(back, *m));
  if (!o || o->sequenceNumber() != p->sequenceNumber() || o->ssrc() != p->ssrc() ||
      std::memcmp(back + 1, buf + 1, *m - 1) != 0) {
    std::abort();
  }

  {
    // Insertion works on the input as received: afterwards the packet parses, carries the new
    // element and the same payload and padding.
    static uint8_t original[4096];
    static uint8_t grown[4096 + 64];
    std::memcpy(original, data, size);
    std::memcpy(grown, data, size);
    const auto before = RtpPacket::parse(std::span<uint8_t>(original, size));
    const uint8_t id = static_cast<uint8_t>(size % 14 + 1);
    const uint8_t value[2] = {0x5A, 0xA5};
    if (const auto grownSize = addHeaderExtension(grown, size, id, value)) {
      const auto after = RtpPacket::parse(std::span<uint8_t>(grown, *grownSize));
      if (!before || !after || after->transportWideSeq(id) != 0x5AA5 ||
          after->payload().size() != before->payload().size() ||
          after->paddingSize() != before->paddingSize() ||
          std::memcmp(after->payload().data(), before->payload().data(),
                      before->payload().size()) != 0) {
        std::abort();
      }
    }
  }

  std::array<uint8_t, 256> map{};
  for (size_t i = 0; i < map.size(); ++i) map[i] = static_cast<uint8_t>((i * 7 + size) % 15);
  (void)p->remapExtensionIds(map);
  (void)p->rewriteExtensionId(1, 2);
  for (int id = 0; id < 16; ++id) (void)p->findExtension(static_cast<uint8_t>(id));
  p->setSequenceNumber(1);
  p->setPayloadType(127);

  SeqNumUnwrapper u;
  RtpSeqTsRewriter w(0, 0);
  for (size_t i = 0; i + 1 < size && i < 64; i += 2) {
    const auto s = static_cast<uint16_t>((data[i] << 8) | data[i + 1]);
    (void)u.unwrap(s);
    if (data[i] == 0x42) w.switchSource(data[i + 1]);
    (void)w.rewrite(s, s * 90u);
  }
  return 0;
}
