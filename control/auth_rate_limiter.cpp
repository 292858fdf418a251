#include "control/auth_rate_limiter.h"

#include <algorithm>

namespace medrelay::control {

std::string AuthRateLimiter::addressOf(std::string_view remote) {
  if (!remote.empty() && remote.front() == '[') {
    const size_t close = remote.find(']');
    if (close != std::string_view::npos) return std::string(remote.substr(1, close - 1));
  }
  const size_t colon = remote.find(':');
  if (colon != std::string_view::npos && remote.find(':', colon + 1) == std::string_view::npos) {
    return std::string(remote.substr(0, colon));  // IPv4 with a port
  }
  return std::string(remote);
}

void AuthRateLimiter::refill(Bucket& b, int64_t now_us) const {
  if (now_us > b.updated_us) {
    b.tokens =
        std::min(options_.burst, b.tokens + options_.refill_per_s *
                                                static_cast<double>(now_us - b.updated_us) / 1e6);
    b.updated_us = now_us;
  }
  if (b.tokens >= 1) b.limited_logged = false;
}

AuthRateLimiter::Verdict AuthRateLimiter::check(std::string_view remote, int64_t now_us) {
  auto it = buckets_.find(addressOf(remote));
  if (it == buckets_.end()) return Verdict::kAllow;
  Bucket& b = it->second;
  refill(b, now_us);
  if (b.tokens >= 1) return Verdict::kAllow;
  if (b.limited_logged) return Verdict::kRefuseQuietly;
  b.limited_logged = true;
  return Verdict::kRefuse;
}

void AuthRateLimiter::makeRoom(int64_t now_us) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now_us);
    it = it->second.tokens >= options_.burst ? buckets_.erase(it) : std::next(it);
  }
  if (buckets_.size() < options_.max_addresses) return;
  auto oldest = std::min_element(
      buckets_.begin(), buckets_.end(),
      [](const auto& a, const auto& b) { return a.second.updated_us < b.second.updated_us; });
  buckets_.erase(oldest);
}

void AuthRateLimiter::recordFailure(std::string_view remote, int64_t now_us) {
  std::string addr = addressOf(remote);
  auto it = buckets_.find(addr);
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_addresses) makeRoom(now_us);
    it = buckets_.emplace(std::move(addr), Bucket{options_.burst, now_us, false}).first;
  }
  Bucket& b = it->second;
  refill(b, now_us);
  b.tokens = std::max(0.0, b.tokens - 1);
}

}  // namespace medrelay::control
