#include "media/rtp/rtp_packet.h"

#include <cstring>

#include "common/be_bytes.h"

namespace medrelay::media {

std::optional<RtpPacket> RtpPacket::parse(std::span<uint8_t> bytes) {
  if (bytes.size() < kRtpHeaderSize) return std::nullopt;
  if ((bytes[0] >> 6) != 2) return std::nullopt;
  RtpPacket p(bytes);
  size_t off = kRtpHeaderSize + 4 * static_cast<size_t>(bytes[0] & 0x0F);
  if (off > bytes.size()) return std::nullopt;
  if ((bytes[0] & 0x10) != 0) {  // X bit: 16-bit profile, 16-bit length in words (§5.3.1)
    if (bytes.size() - off < 4) return std::nullopt;
    p.extProfile_ = loadBe16(&bytes[off]);
    const size_t words = loadBe16(&bytes[off + 2]);
    off += 4;
    if (4 * words > bytes.size() - off) return std::nullopt;
    p.extOffset_ = off;
    p.extSize_ = 4 * words;
    off += p.extSize_;
    if (p.extProfile_ == kOneByteExtensionProfile) {
      p.extForm_ = ExtensionForm::kOneByte;
    } else if ((p.extProfile_ & 0xFFF0) == kTwoByteExtensionProfile) {
      p.extForm_ = ExtensionForm::kTwoByte;
    } else {
      p.extForm_ = ExtensionForm::kOther;
    }
  }
  p.headerSize_ = off;
  size_t body = bytes.size() - off;
  if ((bytes[0] & 0x20) != 0) {
    if (body == 0) return std::nullopt;
    const size_t pad = bytes[bytes.size() - 1];
    if (pad == 0 || pad > body) return std::nullopt;
    p.paddingSize_ = pad;
    body -= pad;
  }
  p.payloadSize_ = body;
  return p;
}

uint16_t RtpPacket::sequenceNumber() const {
  return loadBe16(&buf_[2]);
}
uint32_t RtpPacket::timestamp() const {
  return loadBe32(&buf_[4]);
}
uint32_t RtpPacket::ssrc() const {
  return loadBe32(&buf_[8]);
}
uint32_t RtpPacket::csrc(size_t i) const {
  return i < csrcCount() ? loadBe32(&buf_[kRtpHeaderSize + 4 * i]) : 0;
}

void RtpPacket::setMarker(bool m) {
  buf_[1] = static_cast<uint8_t>((buf_[1] & 0x7F) | (m ? 0x80 : 0));
}
void RtpPacket::setPayloadType(uint8_t pt) {
  buf_[1] = static_cast<uint8_t>((buf_[1] & 0x80) | (pt & 0x7F));
}
void RtpPacket::setSequenceNumber(uint16_t seq) {
  storeBe16(&buf_[2], seq);
}
void RtpPacket::setTimestamp(uint32_t ts) {
  storeBe32(&buf_[4], ts);
}
void RtpPacket::setSsrc(uint32_t ssrc) {
  storeBe32(&buf_[8], ssrc);
}

template <typename Fn>
bool RtpPacket::walkExtensions(Fn&& fn) const {
  if (extForm_ != ExtensionForm::kOneByte && extForm_ != ExtensionForm::kTwoByte) return false;
  const uint8_t* b = buf_.data() + extOffset_;
  size_t i = 0;
  while (i < extSize_) {
    if (b[i] == 0) {  // padding byte (RFC 8285 §4.2, §4.3)
      ++i;
      continue;
    }
    uint8_t id;
    size_t len;
    size_t data;
    if (extForm_ == ExtensionForm::kOneByte) {
      id = b[i] >> 4;
      if (id == 15) return true;  // reserved: stop processing (§4.2)
      len = static_cast<size_t>(b[i] & 0x0F) + 1;
      data = i + 1;
    } else {
      if (extSize_ - i < 2) return false;
      id = b[i];
      len = b[i + 1];
      data = i + 2;
    }
    if (len > extSize_ - data) return false;
    if (fn(id, i, data, len)) return true;
    i = data + len;
  }
  return true;
}

std::optional<std::span<uint8_t>> RtpPacket::findExtension(uint8_t id) const {
  std::optional<std::span<uint8_t>> out;
  if (id == 0) return out;
  walkExtensions([&](uint8_t eid, size_t, size_t data, size_t len) {
    if (eid != id) return false;
    out = buf_.subspan(extOffset_ + data, len);
    return true;
  });
  return out;
}

bool RtpPacket::remapExtensionIds(const std::array<uint8_t, 256>& map) {
  if (extForm_ == ExtensionForm::kNone) return true;
  bool valid = true;
  uint8_t* b = buf_.data() + extOffset_;
  const bool walked = walkExtensions([&](uint8_t id, size_t hdr, size_t data, size_t len) {
    const uint8_t to = map[id];
    if (to == 0) {
      std::memset(b + hdr, 0, data + len - hdr);  // element becomes padding bytes
    } else if (extForm_ == ExtensionForm::kOneByte) {
      if (to > 14) {
        valid = false;
        return true;
      }
      b[hdr] = static_cast<uint8_t>((to << 4) | (b[hdr] & 0x0F));
    } else {
      b[hdr] = to;
    }
    return false;
  });
  return walked && valid;
}

bool RtpPacket::rewriteExtensionId(uint8_t from, uint8_t to) {
  if (extForm_ == ExtensionForm::kOneByte && to > 14) return false;
  std::array<uint8_t, 256> map;
  for (size_t i = 0; i < map.size(); ++i) map[i] = static_cast<uint8_t>(i);
  map[from] = to;
  return remapExtensionIds(map);
}

bool RtpPacket::setAbsSendTime(uint8_t id, uint32_t value24) {
  const auto e = findExtension(id);
  if (!e || e->size() != 3) return false;
  storeBe24(e->data(), value24 & 0xFFFFFF);
  return true;
}

std::optional<uint32_t> RtpPacket::absSendTime(uint8_t id) const {
  const auto e = findExtension(id);
  if (!e || e->size() != 3) return std::nullopt;
  return loadBe24(e->data());
}

uint32_t RtpPacket::absSendTimeFromMicros(uint64_t micros) {
  // 6.18 fixed point: seconds * 2^18, 24 bits (wraps every 64 s).
  return static_cast<uint32_t>(((micros << 18) / 1000000) & 0xFFFFFF);
}

bool RtpPacket::setTransportWideSeq(uint8_t id, uint16_t seq) {
  const auto e = findExtension(id);
  if (!e || e->size() != 2) return false;
  storeBe16(e->data(), seq);
  return true;
}

std::optional<uint16_t> RtpPacket::transportWideSeq(uint8_t id) const {
  const auto e = findExtension(id);
  if (!e || e->size() != 2) return std::nullopt;
  return loadBe16(e->data());
}

std::optional<size_t> addHeaderExtension(std::span<uint8_t> buffer, size_t size, uint8_t id,
                                         std::span<const uint8_t> data) {
  if (size > buffer.size() || id == 0 || data.empty()) return std::nullopt;
  auto packet = RtpPacket::parse(buffer.first(size));
  if (!packet || packet->findExtension(id)) return std::nullopt;
  uint8_t* b = buffer.data();
  const size_t csrcEnd = kRtpHeaderSize + 4 * size_t{packet->csrcCount()};
  if (packet->extensionForm() == ExtensionForm::kNone) {
    if (id > 14 || data.size() > 16) return std::nullopt;
    const size_t words = (1 + data.size() + 3) / 4;
    const size_t grow = 4 + 4 * words;
    if (buffer.size() - size < grow) return std::nullopt;
    std::memmove(b + csrcEnd + grow, b + csrcEnd, size - csrcEnd);
    storeBe16(b + csrcEnd, kOneByteExtensionProfile);
    storeBe16(b + csrcEnd + 2, static_cast<uint16_t>(words));
    std::memset(b + csrcEnd + 4, 0, 4 * words);
    b[csrcEnd + 4] = static_cast<uint8_t>((id << 4) | (data.size() - 1));
    std::memcpy(b + csrcEnd + 5, data.data(), data.size());
    b[0] |= 0x10;
    return size + grow;
  }
  const bool oneByte = packet->extensionForm() == ExtensionForm::kOneByte;
  if (!oneByte && packet->extensionForm() != ExtensionForm::kTwoByte) return std::nullopt;
  if (oneByte && (id > 14 || data.size() > 16)) return std::nullopt;
  if (!oneByte && data.size() > 255) return std::nullopt;
  const size_t element = (oneByte ? 1 : 2) + data.size();
  // The end of the last element: what follows it in the block is padding we may write over.
  size_t used = 0;
  bool reserved = false;
  const auto block = packet->extensionBlock();
  const auto blockOffset = static_cast<size_t>(block.data() - b);
  size_t i = 0;
  while (i < block.size()) {
    if (block[i] == 0) {
      ++i;
      continue;
    }
    size_t len;
    size_t start;
    if (oneByte) {
      if ((block[i] >> 4) == 15) {  // stop processing here (§4.2): nothing after it counts
        reserved = true;
        break;
      }
      len = static_cast<size_t>(block[i] & 0x0F) + 1;
      start = i + 1;
    } else {
      if (block.size() - i < 2) return std::nullopt;
      len = block[i + 1];
      start = i + 2;
    }
    if (len > block.size() - start) return std::nullopt;
    i = start + len;
    used = i;
  }
  if (reserved) return std::nullopt;
  const size_t free = block.size() - used;
  size_t grow = 0;
  if (free < element) {
    grow = (element - free + 3) / 4 * 4;
    if (block.size() + grow > 4 * size_t{0xFFFF} || buffer.size() - size < grow) {
      return std::nullopt;
    }
    const size_t tail = blockOffset + block.size();
    std::memmove(b + tail + grow, b + tail, size - tail);
    std::memset(b + tail, 0, grow);
    storeBe16(b + blockOffset - 2, static_cast<uint16_t>((block.size() + grow) / 4));
  }
  uint8_t* e = b + blockOffset + used;
  if (oneByte) {
    e[0] = static_cast<uint8_t>((id << 4) | (data.size() - 1));
    std::memcpy(e + 1, data.data(), data.size());
  } else {
    e[0] = id;
    e[1] = static_cast<uint8_t>(data.size());
    std::memcpy(e + 2, data.data(), data.size());
  }
  return size + grow;
}

std::optional<size_t> buildRtx(const RtpPacket& original, uint8_t rtxPayloadType, uint32_t rtxSsrc,
                               uint16_t rtxSequence, std::span<uint8_t> out) {
  const size_t hdr = original.headerSize();
  const auto payload = original.payload();
  const size_t total = hdr + 2 + payload.size();
  if (out.size() < total) return std::nullopt;
  std::memcpy(out.data(), original.bytes().data(), hdr);
  out[0] &= static_cast<uint8_t>(~0x20);  // padding dropped
  storeBe16(out.data() + hdr, original.sequenceNumber());
  if (!payload.empty()) std::memcpy(out.data() + hdr + 2, payload.data(), payload.size());
  auto rtx = RtpPacket::parse(out.first(total));
  if (!rtx) return std::nullopt;
  rtx->setPayloadType(rtxPayloadType);
  rtx->setSsrc(rtxSsrc);
  rtx->setSequenceNumber(rtxSequence);
  return total;
}

std::optional<size_t> recoverFromRtx(const RtpPacket& rtx, uint8_t originalPayloadType,
                                     uint32_t originalSsrc, std::span<uint8_t> out) {
  const auto payload = rtx.payload();
  if (payload.size() < 2) return std::nullopt;  // no OSN (RTX padding-only probe)
  const size_t hdr = rtx.headerSize();
  const size_t total = hdr + payload.size() - 2;
  if (out.size() < total) return std::nullopt;
  std::memcpy(out.data(), rtx.bytes().data(), hdr);
  out[0] &= static_cast<uint8_t>(~0x20);
  std::memcpy(out.data() + hdr, payload.data() + 2, payload.size() - 2);
  auto orig = RtpPacket::parse(out.first(total));
  if (!orig) return std::nullopt;
  orig->setPayloadType(originalPayloadType);
  orig->setSsrc(originalSsrc);
  orig->setSequenceNumber(loadBe16(payload.data()));
  return total;
}

}  // namespace medrelay::media
