// AUTH brute-force brake: per address, per user, windowed, with growing delays.
#include "server/auth/failure_throttle.hpp"

#include <gtest/gtest.h>

using postern::auth::FailureThrottle;
using namespace std::chrono_literals;

namespace {
FailureThrottle::Limits limits() {
  FailureThrottle::Limits l;
  l.per_address = 3;
  l.per_user = 2;
  l.window = 60s;
  l.base_delay = 100ms;
  l.max_delay = 250ms;
  return l;
}
const auto t0 = FailureThrottle::Clock::time_point{} + 1000s;
}  // namespace

TEST(FailureThrottle, DelayGrowsWithEachFailureUpToTheCap) {
  FailureThrottle throttle{limits()};
  EXPECT_EQ(throttle.record_failure("192.0.2.1", "", t0), 100ms);
  EXPECT_EQ(throttle.record_failure("192.0.2.1", "", t0), 200ms);
  EXPECT_EQ(throttle.record_failure("192.0.2.1", "", t0), 250ms);
}

TEST(FailureThrottle, BlocksAnAddressAfterItsLimit) {
  FailureThrottle throttle{limits()};
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(throttle.blocked("192.0.2.1", "x", t0));
    throttle.record_failure("192.0.2.1", "u" + std::to_string(i), t0);
  }
  EXPECT_TRUE(throttle.blocked("192.0.2.1", "anyone", t0));
  EXPECT_FALSE(throttle.blocked("192.0.2.2", "anyone", t0));
}

TEST(FailureThrottle, BlocksAUserNameFromEveryAddress) {
  FailureThrottle throttle{limits()};
  throttle.record_failure("192.0.2.1", "alice", t0);
  throttle.record_failure("192.0.2.2", "alice", t0);
  EXPECT_TRUE(throttle.blocked("198.51.100.7", "alice", t0));
  EXPECT_FALSE(throttle.blocked("198.51.100.7", "bob", t0));
}

TEST(FailureThrottle, FailuresExpireAfterTheWindow) {
  FailureThrottle throttle{limits()};
  throttle.record_failure("192.0.2.1", "alice", t0);
  throttle.record_failure("192.0.2.1", "alice", t0);
  EXPECT_TRUE(throttle.blocked("192.0.2.1", "alice", t0 + 59s));
  EXPECT_FALSE(throttle.blocked("192.0.2.1", "alice", t0 + 61s));
}

TEST(FailureThrottle, SuccessClearsTheUserButNotTheAddress) {
  FailureThrottle throttle{limits()};
  throttle.record_failure("192.0.2.1", "alice", t0);
  throttle.record_failure("192.0.2.1", "alice", t0);
  throttle.record_failure("192.0.2.1", "bob", t0);
  throttle.record_success("alice");
  EXPECT_TRUE(throttle.blocked("192.0.2.1", "", t0));
  EXPECT_FALSE(throttle.blocked("192.0.2.9", "alice", t0));
}
