#include "media/rtp/rtp_codecs.h"

#include "common/be_bytes.h"

namespace medrelay::media {

std::optional<Vp8Descriptor> parseVp8Descriptor(std::span<const uint8_t> p) {
  if (p.empty()) return std::nullopt;
  Vp8Descriptor d;
  const uint8_t b0 = p[0];
  d.nonReference = (b0 & 0x20) != 0;
  d.startOfPartition = (b0 & 0x10) != 0;
  d.partitionId = b0 & 0x0F;
  size_t i = 1;
  if ((b0 & 0x80) != 0) {  // X: extension byte I L T K
    if (p.size() <= i) return std::nullopt;
    const uint8_t x = p[i++];
    if ((x & 0x80) != 0) {  // I: picture id, M bit selects 15 bits
      if (p.size() <= i) return std::nullopt;
      if ((p[i] & 0x80) != 0) {
        if (p.size() <= i + 1) return std::nullopt;
        d.pictureId = static_cast<uint16_t>(((p[i] & 0x7F) << 8) | p[i + 1]);
        d.pictureId15Bit = true;
        i += 2;
      } else {
        d.pictureId = p[i] & 0x7F;
        i += 1;
      }
    }
    if ((x & 0x40) != 0) {  // L: TL0PICIDX
      if (p.size() <= i) return std::nullopt;
      d.tl0PicIdx = p[i++];
    }
    if ((x & 0x30) != 0) {  // T or K: TID Y KEYIDX
      if (p.size() <= i) return std::nullopt;
      if ((x & 0x20) != 0) {
        d.temporalId = static_cast<uint8_t>(p[i] >> 6);
        d.layerSync = (p[i] & 0x20) != 0;
      }
      if ((x & 0x10) != 0) d.keyIdx = p[i] & 0x1F;
      ++i;
    }
  }
  if (p.size() <= i) return std::nullopt;  // no VP8 payload
  d.descriptorSize = i;
  d.keyframe = d.startOfPartition && d.partitionId == 0 && (p[i] & 0x01) == 0;
  return d;
}

bool Vp8PictureIdRewriter::rewrite(std::span<uint8_t> p) {
  const auto d = parseVp8Descriptor(p);
  if (!d) return false;
  if (pending_ && started_) {
    if (d->pictureId) {
      pictureIdOffset_ = static_cast<uint16_t>((lastPictureId_ + 1 - *d->pictureId) & 0x7FFF);
    }
    if (d->tl0PicIdx) tl0Offset_ = static_cast<uint8_t>(lastTl0_ + 1 - *d->tl0PicIdx);
  }
  pending_ = false;
  started_ = true;
  size_t i = 2;  // after the first byte and the X byte (a PictureID implies X)
  if (d->pictureId) {
    const uint16_t mask = d->pictureId15Bit ? 0x7FFF : 0x7F;
    const auto out = static_cast<uint16_t>((*d->pictureId + pictureIdOffset_) & mask);
    if (d->pictureId15Bit) {
      p[i] = static_cast<uint8_t>(0x80 | (out >> 8));
      p[i + 1] = static_cast<uint8_t>(out);
      i += 2;
    } else {
      p[i] = static_cast<uint8_t>(out);
      i += 1;
    }
    // Newest in 15-bit serial order (a reordered packet of an older picture does not move it).
    if (((out - lastPictureId_) & 0x7FFF) < 0x4000) lastPictureId_ = out;
  }
  if (d->tl0PicIdx) {
    const auto out = static_cast<uint8_t>(*d->tl0PicIdx + tl0Offset_);
    p[i] = out;
    if (static_cast<uint8_t>(out - lastTl0_) < 0x80) lastTl0_ = out;
  }
  return true;
}

namespace {
bool isKeyNal(uint8_t type) {
  return type == kH264Idr || type == kH264Sps;
}
}  // namespace

bool h264IsKeyframe(std::span<const uint8_t> p) {
  if (p.empty()) return false;
  const uint8_t type = p[0] & 0x1F;
  if (type >= 1 && type <= 23) return isKeyNal(type);
  if (type == kH264StapA) {  // 1-byte header, then (16-bit size, NAL) units (§5.7.1)
    size_t i = 1;
    while (i + 2 <= p.size()) {
      const size_t len = loadBe16(&p[i]);
      i += 2;
      if (len == 0 || len > p.size() - i) return false;
      if (isKeyNal(p[i] & 0x1F)) return true;
      i += len;
    }
    return false;
  }
  if (type == kH264FuA) {  // FU indicator, FU header S E R Type (§5.8)
    if (p.size() < 2) return false;
    return (p[1] & 0x80) != 0 && isKeyNal(p[1] & 0x1F);
  }
  return false;
}

}  // namespace medrelay::media
