#pragma once
// A consumer's send buffer for retransmissions (RFC 4585 §6.2.1 NACK → RFC 4588 RTX): the last
// kSlots packets as sent (rewritten, before SRTP), indexed by sequence number modulo kSlots.
// Preallocated once per consumer; store/find allocate nothing.
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

namespace medrelay::media {

class RtxBuffer {
 public:
  static constexpr size_t kSlots = 512;
  static constexpr size_t kSlotBytes = 1400;

  RtxBuffer() : slots_(std::make_unique<Slot[]>(kSlots)) {}

  // Packets larger than a slot are not kept (they cannot be retransmitted).
  void store(uint16_t seq, std::span<const uint8_t> packet, uint64_t nowMs) {
    Slot& s = slots_[seq % kSlots];
    if (packet.size() > kSlotBytes) {
      s.len = 0;
      return;
    }
    std::memcpy(s.bytes.data(), packet.data(), packet.size());
    s.len = packet.size();
    s.seq = seq;
    s.sentMs = nowMs;
    s.resent = false;
  }
  // The stored packet with this sequence number, or empty when it was overwritten or too old.
  std::span<const uint8_t> find(uint16_t seq, uint64_t nowMs, uint64_t maxAgeMs) const {
    const Slot& s = slots_[seq % kSlots];
    if (s.len == 0 || s.seq != seq || nowMs - s.sentMs > maxAgeMs) return {};
    return {s.bytes.data(), s.len};
  }
  // Records a retransmission of a stored packet unless it was already resent less than
  // minIntervalMs ago (one round trip: the earlier copy may still be on its way, and a burst of
  // NACKs for the same loss must not multiply the repair). False: suppress this one.
  bool markResent(uint16_t seq, uint64_t nowMs, uint64_t minIntervalMs) {
    Slot& s = slots_[seq % kSlots];
    if (s.len == 0 || s.seq != seq) return false;
    if (s.resent && nowMs - s.resentMs < minIntervalMs) return false;
    s.resent = true;
    s.resentMs = nowMs;
    return true;
  }

 private:
  struct Slot {
    std::array<uint8_t, kSlotBytes> bytes;
    size_t len = 0;
    uint16_t seq = 0;
    uint64_t sentMs = 0;
    uint64_t resentMs = 0;
    bool resent = false;
  };
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace medrelay::media
