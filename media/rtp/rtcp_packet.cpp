#include "media/rtp/rtcp_packet.h"

#include "common/be_bytes.h"

namespace medrelay::media::rtcp {

bool isRtcp(std::span<const uint8_t> bytes) {
  return bytes.size() >= kHeaderSize && (bytes[0] >> 6) == 2 && bytes[1] >= 192 && bytes[1] <= 223;
}

std::optional<Compound> Compound::parse(std::span<uint8_t> bytes) {
  if (bytes.size() < kHeaderSize) return std::nullopt;
  Compound c;
  c.bytes_ = bytes;
  size_t off = 0;
  while (off < bytes.size()) {
    if (bytes.size() - off < kHeaderSize) return std::nullopt;
    if ((bytes[off] >> 6) != 2) return std::nullopt;
    const size_t size = 4 * (static_cast<size_t>(loadBe16(&bytes[off + 2])) + 1);
    if (size > bytes.size() - off) return std::nullopt;
    if (++c.count_ > kMaxItems) return std::nullopt;
    if ((bytes[off] & 0x20) != 0) {
      // Padding only in the last packet (RFC 3550 §6.4.1), count 1..body size.
      if (off + size != bytes.size()) return std::nullopt;
      const size_t pad = bytes[off + size - 1];
      if (pad == 0 || pad > size - kHeaderSize) return std::nullopt;
      c.lastPadding_ = pad;
    }
    off += size;
  }
  return c;
}

Item Compound::Iterator::operator*() const {
  const size_t size = 4 * (static_cast<size_t>(loadBe16(&all_[offset_ + 2])) + 1);
  const bool last = offset_ + size == all_.size();
  return Item(all_.subspan(offset_, size), last ? lastPadding_ : 0);
}

Compound::Iterator& Compound::Iterator::operator++() {
  offset_ += 4 * (static_cast<size_t>(loadBe16(&all_[offset_ + 2])) + 1);
  return *this;
}

// --- SR / RR ---------------------------------------------------------------------------------

std::optional<Report> Report::parse(const Item& item) {
  if (item.type() != type::kSr && item.type() != type::kRr) return std::nullopt;
  Report r;
  r.body_ = item.body();
  r.sender_ = item.type() == type::kSr;
  r.blocks_ = item.count();
  const size_t fixed = r.sender_ ? 24 : 4;  // SSRC + sender info (§6.4.1)
  if (r.body_.size() < fixed || (r.body_.size() - fixed) / kReportBlockSize < r.blocks_) {
    return std::nullopt;
  }
  return r;
}

uint32_t Report::ssrc() const {
  return loadBe32(body_.data());
}

std::optional<SenderInfo> Report::senderInfo() const {
  if (!sender_) return std::nullopt;
  const uint8_t* p = body_.data();
  return SenderInfo{loadBe32(p), loadBe64(p + 4), loadBe32(p + 12), loadBe32(p + 16),
                    loadBe32(p + 20)};
}

ReportBlock Report::block(size_t i) const {
  ReportBlock b;
  if (i >= blocks_) return b;
  const uint8_t* p = body_.data() + (sender_ ? 24 : 4) + i * kReportBlockSize;
  b.ssrc = loadBe32(p);
  b.fractionLost = p[4];
  const uint32_t lost = loadBe24(p + 5);
  b.cumulativeLost =
      (lost & 0x800000) != 0 ? static_cast<int32_t>(lost) - 0x1000000 : static_cast<int32_t>(lost);
  b.highestSequence = loadBe32(p + 8);
  b.jitter = loadBe32(p + 12);
  b.lastSr = loadBe32(p + 16);
  b.delaySinceLastSr = loadBe32(p + 20);
  return b;
}

// --- BYE -------------------------------------------------------------------------------------

std::optional<Bye> Bye::parse(const Item& item) {
  if (item.type() != type::kBye) return std::nullopt;
  Bye b;
  b.body_ = item.body();
  b.count_ = item.count();
  if (b.body_.size() / 4 < b.count_) return std::nullopt;  // reason text may follow
  return b;
}

uint32_t Bye::ssrc(size_t i) const {
  return i < count_ ? loadBe32(&body_[4 * i]) : 0;
}

// --- Feedback --------------------------------------------------------------------------------

std::optional<Feedback> Feedback::parse(const Item& item) {
  if (item.type() != type::kRtpfb && item.type() != type::kPsfb) return std::nullopt;
  Feedback f;
  f.body_ = item.body();
  if (f.body_.size() < 8) return std::nullopt;
  f.type_ = item.type();
  f.fmt_ = item.count();
  return f;
}

uint32_t Feedback::senderSsrc() const {
  return loadBe32(body_.data());
}
uint32_t Feedback::mediaSsrc() const {
  return loadBe32(body_.data() + 4);
}

std::optional<Nack> Nack::parse(const Feedback& fb) {
  if (fb.type() != type::kRtpfb || fb.fmt() != fmt::kNack) return std::nullopt;
  const auto fci = fb.fci();
  if (fci.empty() || fci.size() % 4 != 0) return std::nullopt;
  Nack n;
  n.fci_ = fci;
  return n;
}

size_t Nack::lostSequences(std::span<uint16_t> out) const {
  size_t n = 0;
  auto put = [&](uint16_t s) {
    if (n < out.size()) out[n] = s;
    ++n;
  };
  for (size_t i = 0; i + 4 <= fci_.size(); i += 4) {
    const uint16_t pid = loadBe16(&fci_[i]);
    const uint16_t blp = loadBe16(&fci_[i + 2]);
    put(pid);
    for (int bit = 0; bit < 16; ++bit) {
      if ((blp >> bit) & 1) put(static_cast<uint16_t>(pid + bit + 1));
    }
  }
  return n;
}

std::optional<TransportCc> TransportCc::parse(const Feedback& fb) {
  if (fb.type() != type::kRtpfb || fb.fmt() != fmt::kTransportCc) return std::nullopt;
  const auto fci = fb.fci();
  if (fci.size() < 8) return std::nullopt;
  TransportCc t;
  t.fci_ = fci;
  t.baseSeq_ = loadBe16(&fci[0]);
  t.statusCount_ = loadBe16(&fci[2]);
  const uint32_t ref = loadBe24(&fci[4]);
  t.refTime_ =
      (ref & 0x800000) != 0 ? static_cast<int32_t>(ref) - 0x1000000 : static_cast<int32_t>(ref);
  t.fbCount_ = fci[7];
  return t;
}

// Packet status chunks (§3.1.1-§3.1.4): run length (T=0: symbol, 13-bit run) or status vector
// (T=1: S=0 fourteen 1-bit symbols, S=1 seven 2-bit symbols). Symbols: 0 not received,
// 1 small delta (1 byte, unsigned), 2 large delta (2 bytes, signed), 3 reserved. Deltas, in
// 250 us units, follow all chunks in packet order.
bool TransportCc::decode(void (*cb)(void*, const Status&), void* ctx) const {
  // First pass: find where the deltas start.
  size_t pos = 8;
  size_t counted = 0;
  while (counted < statusCount_) {
    if (fci_.size() - pos < 2) return false;
    const uint16_t chunk = loadBe16(&fci_[pos]);
    pos += 2;
    if ((chunk & 0x8000) == 0) {
      counted += chunk & 0x1FFF;
    } else {
      counted += (chunk & 0x4000) != 0 ? 7 : 14;
    }
  }
  size_t deltaPos = pos;
  size_t chunkPos = 8;
  uint16_t seq = baseSeq_;
  size_t remaining = statusCount_;
  auto emit = [&](uint8_t symbol) -> bool {
    Status s{seq++, false, 0};
    if (symbol == 1) {
      if (deltaPos >= fci_.size()) return false;
      s.received = true;
      s.deltaMicros = 250 * static_cast<int32_t>(fci_[deltaPos]);
      deltaPos += 1;
    } else if (symbol == 2) {
      if (fci_.size() - deltaPos < 2) return false;
      s.received = true;
      s.deltaMicros = 250 * static_cast<int32_t>(static_cast<int16_t>(loadBe16(&fci_[deltaPos])));
      deltaPos += 2;
    } else if (symbol == 3) {
      return false;
    }
    cb(ctx, s);
    --remaining;
    return true;
  };
  while (remaining > 0) {
    const uint16_t chunk = loadBe16(&fci_[chunkPos]);
    chunkPos += 2;
    if ((chunk & 0x8000) == 0) {
      const auto symbol = static_cast<uint8_t>((chunk >> 13) & 0x3);
      size_t run = chunk & 0x1FFF;
      while (run-- > 0 && remaining > 0) {
        if (!emit(symbol)) return false;
      }
    } else if ((chunk & 0x4000) == 0) {
      for (int i = 13; i >= 0 && remaining > 0; --i) {
        if (!emit(static_cast<uint8_t>((chunk >> i) & 0x1))) return false;
      }
    } else {
      for (int i = 6; i >= 0 && remaining > 0; --i) {
        if (!emit(static_cast<uint8_t>((chunk >> (2 * i)) & 0x3))) return false;
      }
    }
  }
  return true;
}

std::optional<Fir> Fir::parse(const Feedback& fb) {
  if (fb.type() != type::kPsfb || fb.fmt() != fmt::kFir) return std::nullopt;
  const auto fci = fb.fci();
  if (fci.empty() || fci.size() % 8 != 0) return std::nullopt;
  Fir f;
  f.fci_ = fci;
  return f;
}

FirEntry Fir::entry(size_t i) const {
  if (i >= entryCount()) return FirEntry{0, 0};
  return FirEntry{loadBe32(&fci_[8 * i]), fci_[8 * i + 4]};
}

std::optional<Remb> Remb::parse(const Feedback& fb) {
  if (fb.type() != type::kPsfb || fb.fmt() != fmt::kAfb) return std::nullopt;
  const auto fci = fb.fci();
  if (fci.size() < 8 || fci[0] != 'R' || fci[1] != 'E' || fci[2] != 'M' || fci[3] != 'B') {
    return std::nullopt;
  }
  Remb r;
  r.fci_ = fci;
  r.count_ = fci[4];
  const uint8_t exp = fci[5] >> 2;
  const uint32_t mantissa = loadBe24(&fci[5]) & 0x3FFFF;
  if (fci.size() < 8 + 4 * r.count_) return std::nullopt;
  // 18-bit mantissa << up to 63: saturate instead of overflowing.
  r.bitrate_ = exp > 46 ? UINT64_MAX : static_cast<uint64_t>(mantissa) << exp;
  return r;
}

uint32_t Remb::ssrc(size_t i) const {
  return i < count_ ? loadBe32(&fci_[8 + 4 * i]) : 0;
}

// --- SSRC rewriting --------------------------------------------------------------------------

void rewriteSsrcs(const Item& item, SsrcMapFn map, void* ctx) {
  auto body = item.body();
  auto fix = [&](size_t off) {
    if (off + 4 <= body.size()) storeBe32(&body[off], map(ctx, loadBe32(&body[off])));
  };
  switch (item.type()) {
    case type::kSr:
    case type::kRr: {
      const auto r = Report::parse(item);
      if (!r) return;
      fix(0);
      const size_t first = r->isSender() ? 24 : 4;
      for (size_t i = 0; i < r->blockCount(); ++i) fix(first + i * kReportBlockSize);
      return;
    }
    case type::kBye: {
      const auto b = Bye::parse(item);
      if (!b) return;
      for (size_t i = 0; i < b->ssrcCount(); ++i) fix(4 * i);
      return;
    }
    case type::kRtpfb:
    case type::kPsfb: {
      const auto fb = Feedback::parse(item);
      if (!fb) return;
      fix(0);
      // FIR and REMB carry media source SSRC 0 (RFC 5104 §4.3.1.2, REMB §2.2); their SSRCs
      // live in the FCI.
      if (const auto fir = Fir::parse(*fb)) {
        for (size_t i = 0; i < fir->entryCount(); ++i) fix(8 + 8 * i);
      } else if (const auto remb = Remb::parse(*fb)) {
        for (size_t i = 0; i < remb->ssrcCount(); ++i) fix(16 + 4 * i);
      } else {
        fix(4);
      }
      return;
    }
    default:
      return;
  }
}

}  // namespace medrelay::media::rtcp
