// The admin API's rate limit: a burst at once, then the rate, per key, with the wait to report.
#include "server/admin/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace postern::admin {
namespace {

using std::chrono::milliseconds;

TEST(AdminRateLimiter, AllowsTheBurstThenAsksToWait) {
  RateLimiter limiter{2, 3};
  const auto t0 = RateLimiter::Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.take("token a", t0), 0u) << i;
  EXPECT_EQ(limiter.take("token a", t0), 1u);
  EXPECT_EQ(limiter.take("token b", t0), 0u);  // each key has its own bucket
  EXPECT_EQ(limiter.take("token a", t0 + milliseconds{500}), 0u);
  EXPECT_EQ(limiter.take("token a", t0 + milliseconds{500}), 1u);
}

TEST(AdminRateLimiter, ASlowRateAsksForWholeSeconds) {
  RateLimiter limiter{0.25, 1};
  const auto t0 = RateLimiter::Clock::now();
  EXPECT_EQ(limiter.take("peer x", t0), 0u);
  EXPECT_EQ(limiter.take("peer x", t0), 4u);
}

TEST(AdminRateLimiter, ForgetsFullBucketsWhenTheTableIsFull) {
  RateLimiter limiter{1, 1, 2};
  const auto t0 = RateLimiter::Clock::now();
  EXPECT_EQ(limiter.take("a", t0), 0u);
  EXPECT_EQ(limiter.take("b", t0), 0u);
  // Later, both have refilled and are forgotten; "a" starts again with a full bucket.
  EXPECT_EQ(limiter.take("c", t0 + milliseconds{2000}), 0u);
  EXPECT_EQ(limiter.take("a", t0 + milliseconds{2000}), 0u);
}

}  // namespace
}  // namespace postern::admin
