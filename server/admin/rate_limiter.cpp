// See rate_limiter.hpp.
#include "server/admin/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace postern::admin {

RateLimiter::RateLimiter(double per_second, double burst, std::size_t max_keys)
    : per_second_(per_second), burst_(burst), max_keys_(max_keys) {}

unsigned RateLimiter::take(const std::string& key, Clock::time_point now) {
  std::lock_guard lock{mutex_};
  if (buckets_.size() >= max_keys_ && !buckets_.contains(key)) forget_full(now);
  auto [it, added] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& bucket = it->second;
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  bucket.tokens = std::min(burst_, bucket.tokens + std::max(0.0, elapsed) * per_second_);
  bucket.updated = now;
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return 0;
  }
  return static_cast<unsigned>(std::ceil((1.0 - bucket.tokens) / per_second_));
}

void RateLimiter::forget_full(Clock::time_point now) {
  std::erase_if(buckets_, [&](const auto& entry) {
    const double elapsed = std::chrono::duration<double>(now - entry.second.updated).count();
    return entry.second.tokens + elapsed * per_second_ >= burst_;
  });
}

}  // namespace postern::admin
