// RTCP builders declared in rtcp_packet.h.
#include <cstring>

#include "common/be_bytes.h"
#include "media/rtp/rtcp_packet.h"

namespace medrelay::media::rtcp {

namespace {

void writeHeader(uint8_t* p, uint8_t count, uint8_t pt, size_t size) {
  p[0] = static_cast<uint8_t>(0x80 | (count & 0x1F));
  p[1] = pt;
  storeBe16(p + 2, static_cast<uint16_t>(size / 4 - 1));
}

void writeBlock(uint8_t* p, const ReportBlock& b) {
  storeBe32(p, b.ssrc);
  p[4] = b.fractionLost;
  // Cumulative lost is a signed 24-bit value: clamp (RFC 3550 §6.4.1).
  const int32_t lost = b.cumulativeLost > 0x7FFFFF    ? 0x7FFFFF
                       : b.cumulativeLost < -0x800000 ? -0x800000
                                                      : b.cumulativeLost;
  storeBe24(p + 5, static_cast<uint32_t>(lost) & 0xFFFFFF);
  storeBe32(p + 8, b.highestSequence);
  storeBe32(p + 12, b.jitter);
  storeBe32(p + 16, b.lastSr);
  storeBe32(p + 20, b.delaySinceLastSr);
}

}  // namespace

std::optional<size_t> writeSenderReport(std::span<uint8_t> out, const SenderInfo& info,
                                        std::span<const ReportBlock> blocks) {
  if (blocks.size() > 31) return std::nullopt;
  const size_t size = kHeaderSize + 24 + kReportBlockSize * blocks.size();
  if (out.size() < size) return std::nullopt;
  uint8_t* p = out.data();
  writeHeader(p, static_cast<uint8_t>(blocks.size()), type::kSr, size);
  storeBe32(p + 4, info.ssrc);
  storeBe64(p + 8, info.ntp);
  storeBe32(p + 16, info.rtpTimestamp);
  storeBe32(p + 20, info.packetCount);
  storeBe32(p + 24, info.octetCount);
  for (size_t i = 0; i < blocks.size(); ++i) writeBlock(p + 28 + i * kReportBlockSize, blocks[i]);
  return size;
}

std::optional<size_t> writeReceiverReport(std::span<uint8_t> out, uint32_t senderSsrc,
                                          std::span<const ReportBlock> blocks) {
  if (blocks.size() > 31) return std::nullopt;
  const size_t size = kHeaderSize + 4 + kReportBlockSize * blocks.size();
  if (out.size() < size) return std::nullopt;
  uint8_t* p = out.data();
  writeHeader(p, static_cast<uint8_t>(blocks.size()), type::kRr, size);
  storeBe32(p + 4, senderSsrc);
  for (size_t i = 0; i < blocks.size(); ++i) writeBlock(p + 8 + i * kReportBlockSize, blocks[i]);
  return size;
}

std::optional<size_t> writeNack(std::span<uint8_t> out, uint32_t senderSsrc, uint32_t mediaSsrc,
                                std::span<const uint16_t> lost) {
  if (lost.empty() || out.size() < 12) return std::nullopt;
  uint8_t* p = out.data();
  size_t size = 12;
  size_t i = 0;
  while (i < lost.size()) {
    if (out.size() - size < 4) return std::nullopt;
    const uint16_t pid = lost[i++];
    uint16_t blp = 0;
    while (i < lost.size()) {
      const auto diff = static_cast<uint16_t>(lost[i] - pid);
      if (diff == 0) {  // duplicate
        ++i;
        continue;
      }
      if (diff > 16) break;
      blp = static_cast<uint16_t>(blp | (1u << (diff - 1)));
      ++i;
    }
    storeBe16(p + size, pid);
    storeBe16(p + size + 2, blp);
    size += 4;
  }
  if (size > 4 * 0x10000) return std::nullopt;
  writeHeader(p, fmt::kNack, type::kRtpfb, size);
  storeBe32(p + 4, senderSsrc);
  storeBe32(p + 8, mediaSsrc);
  return size;
}

std::optional<size_t> writePli(std::span<uint8_t> out, uint32_t senderSsrc, uint32_t mediaSsrc) {
  if (out.size() < 12) return std::nullopt;
  writeHeader(out.data(), fmt::kPli, type::kPsfb, 12);
  storeBe32(out.data() + 4, senderSsrc);
  storeBe32(out.data() + 8, mediaSsrc);
  return 12;
}

std::optional<size_t> writeFir(std::span<uint8_t> out, uint32_t senderSsrc, uint32_t mediaSsrc,
                               uint8_t sequence) {
  if (out.size() < 20) return std::nullopt;
  uint8_t* p = out.data();
  writeHeader(p, fmt::kFir, type::kPsfb, 20);
  storeBe32(p + 4, senderSsrc);
  storeBe32(p + 8, 0);  // media source SSRC unused (RFC 5104 §4.3.1.2)
  storeBe32(p + 12, mediaSsrc);
  p[16] = sequence;
  p[17] = p[18] = p[19] = 0;
  return 20;
}

std::optional<size_t> writeRemb(std::span<uint8_t> out, uint32_t senderSsrc, uint64_t bitrate,
                                std::span<const uint32_t> ssrcs) {
  if (ssrcs.size() > 255) return std::nullopt;
  const size_t size = 20 + 4 * ssrcs.size();
  if (out.size() < size) return std::nullopt;
  uint8_t exp = 0;
  while ((bitrate >> exp) > 0x3FFFF) ++exp;  // 18-bit mantissa
  const auto mantissa = static_cast<uint32_t>(bitrate >> exp);
  uint8_t* p = out.data();
  writeHeader(p, fmt::kAfb, type::kPsfb, size);
  storeBe32(p + 4, senderSsrc);
  storeBe32(p + 8, 0);
  std::memcpy(p + 12, "REMB", 4);
  p[16] = static_cast<uint8_t>(ssrcs.size());
  storeBe24(p + 17, (static_cast<uint32_t>(exp) << 18) | mantissa);
  for (size_t i = 0; i < ssrcs.size(); ++i) storeBe32(p + 20 + 4 * i, ssrcs[i]);
  return size;
}

}  // namespace medrelay::media::rtcp
