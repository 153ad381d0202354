// A token bucket per key (a token's name, or a peer's address before a token is known): each key
// may make `burst` requests at once and `per_second` more every second. Thread-safe. Keys whose
// bucket has filled up again are forgotten when the table grows, so a stream of new peers
// cannot grow it without bound.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace postern::admin {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  RateLimiter(double per_second, double burst, std::size_t max_keys = 10000);

  // 0 when this request may go now (and is counted); else the whole seconds to wait.
  unsigned take(const std::string& key, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };
  void forget_full(Clock::time_point now);

  double per_second_;
  double burst_;
  std::size_t max_keys_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace postern::admin
