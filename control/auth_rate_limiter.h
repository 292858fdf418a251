#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace medrelay::control {

struct AuthRateLimiterOptions {
  double burst = 10;             // failed attempts an address may make at once
  double refill_per_s = 0.2;     // one more failed attempt every 5 s
  size_t max_addresses = 10000;  // table bound; idle (full) buckets are evicted first
};

// Failed authentications per source address (token bucket per IP, port ignored): a failure
// takes a token; an address with no tokens left is refused (rate_limited, 429) before its token
// is even looked at. The table is bounded: at capacity, refilled buckets are dropped, then the
// least recently seen.
class AuthRateLimiter {
 public:
  explicit AuthRateLimiter(AuthRateLimiterOptions options = {}) : options_(options) {}

  enum class Verdict {
    kAllow,
    kRefuse,         // the first refusal since the address ran out: worth an access-log record
    kRefuseQuietly,  // further refusals: counted, not logged (a flood must not flood the log)
  };
  // May `remote` attempt an authentication now?
  Verdict check(std::string_view remote, int64_t now_us);
  // Records a failed attempt (takes a token).
  void recordFailure(std::string_view remote, int64_t now_us);
  size_t size() const { return buckets_.size(); }

  // "192.0.2.1:5000" → "192.0.2.1", "[2001:db8::1]:443" → "2001:db8::1", bare addresses as is.
  static std::string addressOf(std::string_view remote);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_us = 0;
    bool limited_logged = false;
  };
  void refill(Bucket& b, int64_t now_us) const;
  void makeRoom(int64_t now_us);

  AuthRateLimiterOptions options_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace medrelay::control
