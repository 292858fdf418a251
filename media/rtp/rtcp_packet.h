#pragma once

// RTCP compound parsing (RFC 3550 §6.1, reduced-size RFC 5506) into per-packet views, typed views
// for SR/RR/BYE (RFC 3550 §6.4-§6.6), generic NACK and transport-wide CC (RTPFB, RFC 4585 §6.2.1,
// draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1), PLI/FIR/REMB (PSFB, RFC 4585 §6.3.1,
// RFC 5104 §4.3.1, draft-alvestrand-rmcat-remb-03 §2.2), builders into caller buffers and in-place
// SSRC rewriting. Views borrow the caller's buffer; no allocation, no exceptions.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>

namespace medrelay::media::rtcp {

namespace type {
inline constexpr uint8_t kSr = 200;
inline constexpr uint8_t kRr = 201;
inline constexpr uint8_t kSdes = 202;
inline constexpr uint8_t kBye = 203;
inline constexpr uint8_t kApp = 204;
inline constexpr uint8_t kRtpfb = 205;
inline constexpr uint8_t kPsfb = 206;
inline constexpr uint8_t kXr = 207;
}  // namespace type

namespace fmt {
inline constexpr uint8_t kNack = 1;          // RTPFB
inline constexpr uint8_t kTransportCc = 15;  // RTPFB
inline constexpr uint8_t kPli = 1;           // PSFB
inline constexpr uint8_t kFir = 4;           // PSFB
inline constexpr uint8_t kAfb = 15;          // PSFB application layer FB (REMB)
}  // namespace fmt

inline constexpr size_t kHeaderSize = 4;

// RTP/RTCP demux on a muxed port, RFC 5761 §4: RTCP packet types 192..223 in byte 1.
bool isRtcp(std::span<const uint8_t> bytes);

// One RTCP packet inside a compound.
class Item {
 public:
  Item() = default;
  Item(std::span<uint8_t> bytes, size_t padding) : bytes_(bytes), padding_(padding) {}
  uint8_t type() const { return bytes_[1]; }
  uint8_t count() const { return bytes_[0] & 0x1F; }   // RC / SC / FMT
  std::span<uint8_t> bytes() const { return bytes_; }  // header included, padding included
  // After the 4-byte header, padding excluded.
  std::span<uint8_t> body() const {
    return bytes_.subspan(kHeaderSize, bytes_.size() - kHeaderSize - padding_);
  }

 private:
  std::span<uint8_t> bytes_;
  size_t padding_ = 0;
};

class Compound {
 public:
  // Validates every header: version 2, length within the buffer, padding only on the last packet
  // and within its body, at most kMaxItems packets. Accepts reduced-size (RFC 5506) packets;
  // startsWithReport() tells whether it is a full RFC 3550 compound.
  static std::optional<Compound> parse(std::span<uint8_t> bytes);
  static constexpr size_t kMaxItems = 32;

  class Iterator {
   public:
    Iterator(std::span<uint8_t> all, size_t offset, size_t lastPadding)
        : all_(all), offset_(offset), lastPadding_(lastPadding) {}
    Item operator*() const;
    Iterator& operator++();
    bool operator==(const Iterator& o) const { return offset_ == o.offset_; }

   private:
    std::span<uint8_t> all_;
    size_t offset_;
    size_t lastPadding_;
  };
  Iterator begin() const { return Iterator(bytes_, 0, lastPadding_); }
  Iterator end() const { return Iterator(bytes_, bytes_.size(), lastPadding_); }
  size_t itemCount() const { return count_; }
  bool startsWithReport() const { return bytes_[1] == type::kSr || bytes_[1] == type::kRr; }

 private:
  std::span<uint8_t> bytes_;
  size_t count_ = 0;
  size_t lastPadding_ = 0;
};

struct ReportBlock {  // RFC 3550 §6.4.1
  uint32_t ssrc = 0;
  uint8_t fractionLost = 0;
  int32_t cumulativeLost = 0;  // 24-bit signed
  uint32_t highestSequence = 0;
  uint32_t jitter = 0;
  uint32_t lastSr = 0;
  uint32_t delaySinceLastSr = 0;
};
inline constexpr size_t kReportBlockSize = 24;

struct SenderInfo {
  uint32_t ssrc = 0;
  uint64_t ntp = 0;  // 32.32 fixed point
  uint32_t rtpTimestamp = 0;
  uint32_t packetCount = 0;
  uint32_t octetCount = 0;
};

// SR and RR: the report blocks must fit in the body (extensions after them are allowed).
class Report {
 public:
  static std::optional<Report> parse(const Item& item);
  bool isSender() const { return sender_; }
  uint32_t ssrc() const;
  std::optional<SenderInfo> senderInfo() const;
  size_t blockCount() const { return blocks_; }
  ReportBlock block(size_t i) const;  // i < blockCount()

 private:
  std::span<const uint8_t> body_;
  bool sender_ = false;
  size_t blocks_ = 0;
};

class Bye {
 public:
  static std::optional<Bye> parse(const Item& item);
  size_t ssrcCount() const { return count_; }
  uint32_t ssrc(size_t i) const;

 private:
  std::span<const uint8_t> body_;
  size_t count_ = 0;
};

// Common feedback header, RFC 4585 §6.1: sender SSRC, media source SSRC, then FCI.
class Feedback {
 public:
  static std::optional<Feedback> parse(const Item& item);
  uint8_t type() const { return type_; }
  uint8_t fmt() const { return fmt_; }
  uint32_t senderSsrc() const;
  uint32_t mediaSsrc() const;
  std::span<const uint8_t> fci() const { return body_.subspan(8); }

 private:
  std::span<const uint8_t> body_;
  uint8_t type_ = 0;
  uint8_t fmt_ = 0;
};

// Generic NACK FCI entries (PID, BLP), RFC 4585 §6.2.1.
class Nack {
 public:
  static std::optional<Nack> parse(const Feedback& fb);  // RTPFB fmt 1, FCI non-empty, 4n bytes
  size_t pairCount() const { return fci_.size() / 4; }
  // Expands every PID+BLP to lost sequence numbers in order; writes up to out.size() and returns
  // the total count (at most 17 per pair).
  size_t lostSequences(std::span<uint16_t> out) const;

 private:
  std::span<const uint8_t> fci_;
};

// Transport-wide congestion control feedback (RTPFB fmt 15).
class TransportCc {
 public:
  static std::optional<TransportCc> parse(const Feedback& fb);
  uint16_t baseSequence() const { return baseSeq_; }
  uint16_t statusCount() const { return statusCount_; }
  int32_t referenceTime() const { return refTime_; }  // signed 24 bit, multiples of 64 ms
  uint8_t feedbackPacketCount() const { return fbCount_; }

  struct Status {
    uint16_t sequence;
    bool received;
    int32_t deltaMicros;  // receive delta (250 us units decoded); 0 when not received
  };
  // Decodes packet status chunks and receive deltas, calling fn(const Status&) per packet in
  // sequence order. false if the chunks or deltas run past the FCI.
  template <typename Fn>
  bool forEachStatus(Fn&& fn) const {
    using F = std::remove_reference_t<Fn>;
    return decode([](void* ctx, const Status& s) { (*static_cast<F*>(ctx))(s); },
                  const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  bool decode(void (*cb)(void*, const Status&), void* ctx) const;
  std::span<const uint8_t> fci_;
  uint16_t baseSeq_ = 0;
  uint16_t statusCount_ = 0;
  int32_t refTime_ = 0;
  uint8_t fbCount_ = 0;
};

struct FirEntry {  // RFC 5104 §4.3.1.1
  uint32_t ssrc;
  uint8_t sequence;
};

class Fir {
 public:
  static std::optional<Fir> parse(const Feedback& fb);  // PSFB fmt 4, FCI 8n bytes, n >= 1
  size_t entryCount() const { return fci_.size() / 8; }
  FirEntry entry(size_t i) const;

 private:
  std::span<const uint8_t> fci_;
};

class Remb {
 public:
  static std::optional<Remb> parse(const Feedback& fb);  // PSFB fmt 15 with "REMB"
  uint64_t bitrate() const { return bitrate_; }          // mantissa << exp, bits/s
  size_t ssrcCount() const { return count_; }
  uint32_t ssrc(size_t i) const;

 private:
  std::span<const uint8_t> fci_;
  uint64_t bitrate_ = 0;
  size_t count_ = 0;
};

// Builders: each writes one RTCP packet at the start of out and returns its size, or nullopt if
// out is too small or the input cannot be encoded. Concatenate them for a compound.
std::optional<size_t> writeSenderReport(std::span<uint8_t> out, const SenderInfo& info,
                                        std::span<const ReportBlock> blocks);
std::optional<size_t> writeReceiverReport(std::span<uint8_t> out, uint32_t senderSsrc,
                                          std::span<const ReportBlock> blocks);
// lost must be in ascending order modulo wrap (as produced by a NACK generator); consecutive
// numbers within 16 of a PID share its BLP.
std::optional<size_t> writeNack(std::span<uint8_t> out, uint32_t senderSsrc, uint32_t mediaSsrc,
                                std::span<const uint16_t> lost);
std::optional<size_t> writePli(std::span<uint8_t> out, uint32_t senderSsrc, uint32_t mediaSsrc);
std::optional<size_t> writeFir(std::span<uint8_t> out, uint32_t senderSsrc, uint32_t mediaSsrc,
                               uint8_t sequence);
std::optional<size_t> writeRemb(std::span<uint8_t> out, uint32_t senderSsrc, uint64_t bitrate,
                                std::span<const uint32_t> ssrcs);

// In-place SSRC rewriting for forwarding between producer and consumer SSRC spaces: SR/RR
// (sender + report blocks), BYE, RTPFB/PSFB (sender, media source, FIR entries, REMB list).
// Other types (SDES, APP, XR) are left alone. map(ssrc) returns the replacement.
using SsrcMapFn = uint32_t (*)(void* ctx, uint32_t ssrc);
void rewriteSsrcs(const Item& item, SsrcMapFn map, void* ctx);
template <typename Fn>
void rewriteSsrcs(const Item& item, Fn&& fn) {
  using F = std::remove_reference_t<Fn>;
  rewriteSsrcs(
      item, [](void* c, uint32_t s) -> uint32_t { return (*static_cast<F*>(c))(s); },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

}  // namespace medrelay::media::rtcp
