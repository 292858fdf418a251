#include "bench/load/load_stats.h"

#include <sched.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

namespace medrelay::bench {

uint64_t monotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

void LatencyHistogram::merge(const LatencyHistogram& o) {
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += o.buckets_[i];
  count_ += o.count_;
  if (o.maxNs_ > maxNs_) maxNs_ = o.maxNs_;
}

double LatencyHistogram::percentileUs(double q) const {
  if (count_ == 0) return 0;
  const auto target = static_cast<uint64_t>(q * static_cast<double>(count_));
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen > target || seen == count_) {
      return i == kBuckets ? maxUs() : static_cast<double>(i + 1);
    }
  }
  return maxUs();
}

nlohmann::json LatencyHistogram::summary() const {
  return {{"p50_us", percentileUs(0.50)},
          {"p90_us", percentileUs(0.90)},
          {"p99_us", percentileUs(0.99)},
          {"max_us", maxUs()},
          {"samples", count_}};
}

nlohmann::json LatencyHistogram::cdf(size_t maxPoints) const {
  nlohmann::json out = nlohmann::json::array();
  if (count_ == 0 || maxPoints < 2) return out;
  // Points at evenly spaced quantiles, plus the tail (p99.9, max).
  for (size_t i = 1; i < maxPoints; ++i) {
    const double q = static_cast<double>(i) / static_cast<double>(maxPoints);
    out.push_back({percentileUs(q), q});
  }
  out.push_back({percentileUs(0.999), 0.999});
  out.push_back({maxUs(), 1.0});
  return out;
}

void PayloadStamp::write(uint8_t* p) const {
  std::memcpy(p, &stream, 4);
  std::memcpy(p + 4, &sequence, 8);
  std::memcpy(p + 12, &sendNs, 8);
}

std::optional<PayloadStamp> PayloadStamp::read(const uint8_t* p, size_t len) {
  if (len < kSize) return std::nullopt;
  PayloadStamp s;
  std::memcpy(&s.stream, p, 4);
  std::memcpy(&s.sequence, p + 4, 8);
  std::memcpy(&s.sendNs, p + 12, 8);
  return s;
}

std::optional<ProcUsage> readProcUsage(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return std::nullopt;
  // Fields after the parenthesised command (which may contain spaces): state is field 3,
  // utime 14, stime 15 (proc(5)).
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  ProcUsage u;
  u.cpuSeconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) u.rssBytes = std::stoull(line.substr(6)) * 1024;
    if (line.rfind("VmHWM:", 0) == 0) u.peakRssBytes = std::stoull(line.substr(6)) * 1024;
  }
  return u;
}

bool pinToCpu(int cpu) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) return false;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0;
}

void LossCounter::onPacket(uint32_t stream, uint64_t sequence) {
  if (stream >= highest_.size()) return;
  ++received_[stream];
  if (sequence + 1 > highest_[stream]) highest_[stream] = sequence + 1;
}

uint64_t LossCounter::received() const {
  uint64_t n = 0;
  for (auto r : received_) n += r;
  return n;
}

uint64_t LossCounter::lost() const {
  uint64_t expected = 0;
  for (auto h : highest_) expected += h;
  const auto got = received();
  return expected > got ? expected - got : 0;
}

}  // namespace medrelay::bench
