#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace medrelay::metrics {

// Counters for the packet path, owned by one worker thread (the single writer); the scrape reads
// them from the control thread.
//
// Why not prometheus::Counter: its Increment() is a compare-exchange loop on an atomic double (a
// locked instruction, ~5-20 ns, and a contended cache line if two workers share a child). Here the
// writer does a relaxed load + add + relaxed store of its own cache line: on x86-64 and ARM64 that
// compiles to a plain load/add/store, exactly what a plain uint64_t would cost, while the reader's
// relaxed load is data-race free (TSan-clean) and sees a value that is at most a few increments
// old. Nothing is posted to the worker on scrape, so a busy or blocked worker cannot stall
// /metrics. bench/metrics_bench.cpp measures both.
//
// Only the owning thread may call inc()/set()/add()/observe().
class LocalCounter {
 public:
  void inc(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // Mirrors a plain counter the same thread owns (a socket's or the demux's own counters, copied
  // once a second), so it never decreases as long as the source does not.
  void set(uint64_t v) { v_.store(v, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// A single-writer gauge (allocations active on this worker, ...).
class LocalGauge {
 public:
  void set(int64_t v) { v_.store(v, std::memory_order_relaxed); }
  void add(int64_t d) {
    v_.store(v_.load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
  }
  void inc() { add(1); }
  void dec() { add(-1); }
  int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// A single-writer histogram over integer nanoseconds with N finite upper bounds (inclusive, as in
// Prometheus' `le`) plus an overflow bucket. Per-bucket (not cumulative) counts; the scrape
// accumulates them and derives the total count from the buckets, so `_count` always equals the
// +Inf bucket even while the writer runs.
template <size_t N>
class LocalHistogram {
 public:
  explicit constexpr LocalHistogram(const std::array<uint64_t, N>& upper_ns)
      : upper_ns_(upper_ns) {}

  void observe(uint64_t ns) {
    // Linear scan: N is ~12, the loop is branch-predictable and beats a binary search here.
    size_t i = 0;
    while (i < N && ns > upper_ns_[i]) ++i;
    buckets_[i].inc();
    sum_ns_.inc(ns);
  }

  static constexpr size_t size() { return N; }
  uint64_t upperNs(size_t i) const { return upper_ns_[i]; }
  // Observations in bucket i (i == N: above the last bound).
  uint64_t bucket(size_t i) const { return buckets_[i].value(); }
  uint64_t sumNs() const { return sum_ns_.value(); }

 private:
  std::array<uint64_t, N> upper_ns_;
  std::array<LocalCounter, N + 1> buckets_{};
  LocalCounter sum_ns_;
};

}  // namespace medrelay::metrics
