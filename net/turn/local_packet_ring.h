#pragma once

// A single-producer single-consumer ring of datagrams between two threads (the TURN thread and a
// media worker), for the in-process path to medrelay's own SFU (docs/turn.md). Slots are
// preallocated once: push() copies into the next free slot, drain() hands each slot to the
// consumer in place (writable: SRTP decrypts in place) and frees it. No allocation, no lock.
//
// Waking the consumer: the producer posts one drain task to the consumer's Dispatcher when
// claimWake() says none is pending; the drain task calls rearm() before draining, so a push that
// lands after the last pop always finds the flag clear and posts again.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/assert.h"
#include "net/socket_address.h"

namespace medrelay::net::turn {

class LocalPacketRing {
 public:
  static constexpr size_t kSlotBytes = 2048;  // larger datagrams are refused (counted by caller)

  struct Slot {
    SocketAddress from;
    SocketAddress to;
    size_t len = 0;
    uint8_t data[kSlotBytes];
  };

  // slots: a power of two.
  explicit LocalPacketRing(size_t slots) : slots_(slots), mask_(slots - 1) {
    MEDRELAY_ASSERT(slots != 0 && (slots & mask_) == 0, "ring size must be a power of two");
  }
  LocalPacketRing(const LocalPacketRing&) = delete;
  LocalPacketRing& operator=(const LocalPacketRing&) = delete;

  // Producer thread. False when the ring is full or the datagram too large.
  bool push(const SocketAddress& from, const SocketAddress& to, const uint8_t* data, size_t len) {
    if (len > kSlotBytes) return false;
    const size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_.load(std::memory_order_acquire) == slots_.size()) return false;
    Slot& s = slots_[tail & mask_];
    s.from = from;
    s.to = to;
    s.len = len;
    std::memcpy(s.data, data, len);
    tail_.store(tail + 1, std::memory_order_seq_cst);  // ordered with claimWake()/rearm()
    return true;
  }

  // Producer thread, after push(): true when the caller must post a drain task.
  bool claimWake() { return !wakePending_.exchange(true, std::memory_order_seq_cst); }
  // Consumer thread, first thing in the drain task.
  void rearm() { wakePending_.store(false, std::memory_order_seq_cst); }

  // Consumer thread: fn(Slot&) for every queued datagram, oldest first. Returns how many.
  template <class Fn>
  size_t drain(Fn&& fn) {
    size_t head = head_.load(std::memory_order_relaxed);
    const size_t tail = tail_.load(std::memory_order_seq_cst);
    const size_t n = tail - head;
    for (; head != tail; ++head) {
      fn(slots_[head & mask_]);
      head_.store(head + 1, std::memory_order_release);
    }
    return n;
  }

  size_t capacity() const { return slots_.size(); }

 private:
  std::vector<Slot> slots_;
  size_t mask_;
  alignas(64) std::atomic<size_t> head_{0};  // consumer
  alignas(64) std::atomic<size_t> tail_{0};  // producer
  alignas(64) std::atomic<bool> wakePending_{false};
};

}  // namespace medrelay::net::turn
