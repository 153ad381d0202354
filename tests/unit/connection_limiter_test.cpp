// Connection limits in total and per client address.
#include "server/net/connection_limiter.hpp"

#include <gtest/gtest.h>

#include <vector>

using postern::net::ConnectionLimiter;

TEST(ConnectionLimiter, RefusesPastThePerAddressLimit) {
  ConnectionLimiter limiter{10, 2};
  auto a = limiter.acquire("192.0.2.1");
  auto b = limiter.acquire("192.0.2.1");
  EXPECT_TRUE(a && b);
  EXPECT_FALSE(limiter.acquire("192.0.2.1"));
  EXPECT_TRUE(limiter.acquire("192.0.2.2"));
}

TEST(ConnectionLimiter, RefusesPastTheTotalLimit) {
  ConnectionLimiter limiter{2, 5};
  auto a = limiter.acquire("192.0.2.1");
  auto b = limiter.acquire("192.0.2.2");
  EXPECT_FALSE(limiter.acquire("192.0.2.3"));
  EXPECT_EQ(limiter.open(), 2u);
}

TEST(ConnectionLimiter, ReleasingASlotFreesItsPlace) {
  ConnectionLimiter limiter{1, 1};
  {
    auto a = limiter.acquire("192.0.2.1");
    ASSERT_TRUE(a);
    EXPECT_FALSE(limiter.acquire("192.0.2.1"));
  }
  EXPECT_EQ(limiter.open(), 0u);
  EXPECT_TRUE(limiter.acquire("192.0.2.1"));
}

TEST(ConnectionLimiter, NewLimitsApplyToLaterConnectionsOnly) {
  ConnectionLimiter limiter{3, 3};
  auto a = limiter.acquire("192.0.2.1");
  auto b = limiter.acquire("192.0.2.1");
  limiter.set_limits(3, 1);
  EXPECT_EQ(limiter.open(), 2u);  // both kept, though over the new per-address limit
  EXPECT_FALSE(limiter.acquire("192.0.2.1"));
  EXPECT_TRUE(limiter.acquire("192.0.2.2"));
  limiter.set_limits(3, 5);
  EXPECT_TRUE(limiter.acquire("192.0.2.1"));
}
