#include <gtest/gtest.h>

#include "server/delivery/backoff.hpp"

namespace postern::delivery {
namespace {

using std::chrono::seconds;

DeliveryConfig config(unsigned first, unsigned max) {
  DeliveryConfig c;
  c.first_retry_seconds = first;
  c.max_retry_seconds = max;
  return c;
}

TEST(DeliveryBackoff, DoublesFromTheFirstRetryWithJitterInTheMiddle) {
  const DeliveryConfig c = config(60, 3600);
  EXPECT_EQ(retry_delay(1, c, 0.5), seconds(60));
  EXPECT_EQ(retry_delay(2, c, 0.5), seconds(120));
  EXPECT_EQ(retry_delay(3, c, 0.5), seconds(240));
  EXPECT_EQ(retry_delay(6, c, 0.5), seconds(1920));
}

TEST(DeliveryBackoff, ZeroAttemptsCountAsOne) {
  EXPECT_EQ(retry_delay(0, config(60, 3600), 0.5), seconds(60));
}

TEST(DeliveryBackoff, JitterSpreadsByTwentyPercent) {
  const DeliveryConfig c = config(100, 3600);
  EXPECT_EQ(retry_delay(1, c, 0.0), seconds(80));
  EXPECT_EQ(retry_delay(1, c, 0.25), seconds(90));
  EXPECT_EQ(retry_delay(1, c, 0.999999), seconds(120));
  EXPECT_EQ(retry_delay(2, c, 0.0), seconds(160));
  EXPECT_EQ(retry_delay(2, c, 0.999999), seconds(240));
}

TEST(DeliveryBackoff, NeverAboveTheCap) {
  const DeliveryConfig c = config(60, 3600);
  EXPECT_EQ(retry_delay(7, c, 0.999999), seconds(3600));  // 3840 would exceed it
  EXPECT_EQ(retry_delay(7, c, 0.0), seconds(2880));       // 0.8 × 3600
  EXPECT_EQ(retry_delay(100, c, 0.999999), seconds(3600));
  EXPECT_EQ(retry_delay(4000000000u, c, 0.5), seconds(3240));  // no overflow
  for (unsigned attempts = 1; attempts < 40; ++attempts) {
    for (const double jitter : {0.0, 0.3, 0.7, 0.999999}) {
      const auto delay = retry_delay(attempts, c, jitter);
      EXPECT_LE(delay, seconds(3600));
      EXPECT_GE(delay, seconds(48));
    }
  }
}

TEST(DeliveryBackoff, NeverBelowOneSecond) {
  const DeliveryConfig c = config(1, 1);
  EXPECT_EQ(retry_delay(1, c, 0.0), seconds(1));
  EXPECT_EQ(retry_delay(1, c, 0.999999), seconds(1));
  EXPECT_EQ(retry_delay(1, config(0, 0), 0.5), seconds(1));
}

TEST(DeliveryBackoff, JitterOutsideTheUnitIntervalIsClamped) {
  const DeliveryConfig c = config(100, 3600);
  EXPECT_EQ(retry_delay(1, c, -3.0), seconds(80));
  EXPECT_EQ(retry_delay(1, c, 7.0), seconds(120));
}

TEST(DeliveryBackoff, FirstRetryAboveTheCapIsCapped) {
  EXPECT_EQ(retry_delay(1, config(600, 300), 0.999999), seconds(300));
}

}  // namespace
}  // namespace postern::delivery
