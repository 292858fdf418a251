#pragma once

// Measurement pieces shared by medrelay-load and medrelay-ceiling: a latency histogram with
// 1 µs buckets, the RTP-shaped payload stamp (sequence + send time), and process CPU/memory
// read from /proc/<pid>/stat and /proc/<pid>/status.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

namespace medrelay::bench {

// CLOCK_MONOTONIC in nanoseconds; the same clock in every process on the machine, so a send time
// stamped by one process can be compared with a receive time taken in another.
uint64_t monotonicNs();

// 1 µs buckets up to 1 s, one overflow bucket; percentiles are bucket upper bounds.
class LatencyHistogram {
 public:
  LatencyHistogram() : buckets_(kBuckets + 1, 0) {}
  void add(uint64_t ns) {
    const uint64_t us = ns / 1000;
    ++buckets_[us < kBuckets ? us : kBuckets];
    ++count_;
    if (ns > maxNs_) maxNs_ = ns;
  }
  void merge(const LatencyHistogram& o);
  uint64_t count() const { return count_; }
  // Latency in µs below which fraction q of the samples fall (q in [0,1]).
  double percentileUs(double q) const;
  double maxUs() const { return static_cast<double>(maxNs_) / 1000.0; }
  // {"p50_us":..,"p90_us":..,"p99_us":..,"max_us":..,"samples":..}
  nlohmann::json summary() const;
  // CDF points [[µs, fraction], ...] at most maxPoints long (for the report's plot).
  nlohmann::json cdf(size_t maxPoints = 200) const;

 private:
  static constexpr size_t kBuckets = 1'000'000;
  std::vector<uint32_t> buckets_;
  uint64_t count_ = 0;
  uint64_t maxNs_ = 0;
};

// The first bytes of every generated payload (after the RTP header): which stream, its packet
// sequence and the send time. Little-endian; 20 bytes.
struct PayloadStamp {
  uint32_t stream = 0;
  uint64_t sequence = 0;
  uint64_t sendNs = 0;
  static constexpr size_t kSize = 20;
  void write(uint8_t* p) const;
  static std::optional<PayloadStamp> read(const uint8_t* p, size_t len);
};

// CPU time (user + system, all threads) and resident memory of a process.
struct ProcUsage {
  double cpuSeconds = 0;
  uint64_t rssBytes = 0;
  uint64_t peakRssBytes = 0;  // VmHWM
};
std::optional<ProcUsage> readProcUsage(pid_t pid);

// Pins the calling thread to one CPU; false if the CPU does not exist or the call fails.
bool pinToCpu(int cpu);

// Per-stream loss accounting: highest sequence seen and count received per stream.
class LossCounter {
 public:
  explicit LossCounter(size_t streams = 0) : highest_(streams, 0), received_(streams, 0) {}
  void resize(size_t streams) {
    highest_.resize(streams, 0);
    received_.resize(streams, 0);
  }
  void onPacket(uint32_t stream, uint64_t sequence);
  uint64_t received() const;
  // Packets that were sent (up to the highest sequence seen) but never arrived.
  uint64_t lost() const;

 private:
  std::vector<uint64_t> highest_;  // sequence + 1 of the highest packet seen; 0 = none
  std::vector<uint64_t> received_;
};

}  // namespace medrelay::bench
