// The arithmetic of sending limits: which limits apply, windows, counting, refusing, and the
// counts' way to PostgreSQL and back (SendingBudget).
#include "server/policy/sending_budget.hpp"

#include <gtest/gtest.h>

namespace postern::policy {
namespace {

using schema::LimitOverrides;
using schema::LimitSetting;
using schema::SendingUsage;
using schema::UsageWindow;

constexpr std::int64_t kMidnight = 1'764'547'200;  // 2025-12-01 00:00:00 UTC, a multiple of 86400 and 3600

LimitSetting at_most(std::int64_t n) { return {LimitSetting::Kind::AtMost, n}; }
const LimitSetting kUnlimited{LimitSetting::Kind::Unlimited, 0};

TEST(SendingLimits, WindowsStartAtMultiplesOfTheirLength) {
  EXPECT_EQ(schema::window_at(3600, kMidnight), (UsageWindow{3600, kMidnight}));
  EXPECT_EQ(schema::window_at(3600, kMidnight + 3599), (UsageWindow{3600, kMidnight}));
  EXPECT_EQ(schema::window_at(3600, kMidnight + 3600), (UsageWindow{3600, kMidnight + 3600}));
  EXPECT_EQ(schema::window_at(86400, kMidnight + 5000), (UsageWindow{86400, kMidnight}));
  EXPECT_EQ(schema::window_at(7, 20), (UsageWindow{7, 14}));
}

TEST(SendingLimits, OwnLimitsReplaceTheDefaults) {
  const Limits defaults{100, 1000, std::nullopt, 5000};
  EXPECT_EQ(effective_limits(defaults, {}), defaults);
  LimitOverrides own;
  own.messages_per_hour = at_most(10);
  own.messages_per_day = kUnlimited;
  own.recipients_per_hour = at_most(50);
  EXPECT_EQ(effective_limits(defaults, own), (Limits{10, std::nullopt, 50, 5000}));
}

TEST(SendingBudget, CountsUpToTheLimitThenRefuses) {
  SendingBudget budget{{3600, 86400}, Limits{3, std::nullopt, std::nullopt, std::nullopt}, 7, {}, {}, kMidnight};
  EXPECT_TRUE(budget.try_message(kMidnight));
  EXPECT_TRUE(budget.try_message(kMidnight + 1));
  EXPECT_TRUE(budget.try_message(kMidnight + 2));
  EXPECT_FALSE(budget.try_message(kMidnight + 3));
  EXPECT_EQ(budget.used(3600, kMidnight + 3).messages, 3);  // the refused one is not counted
  EXPECT_TRUE(budget.try_recipient(kMidnight + 3));          // no recipients limit
}

TEST(SendingBudget, ANewWindowStartsFromZero) {
  SendingBudget budget{{3600, 86400}, Limits{1, 2, std::nullopt, std::nullopt}, 7, {}, {}, kMidnight};
  EXPECT_TRUE(budget.try_message(kMidnight));
  EXPECT_FALSE(budget.try_message(kMidnight + 3599));  // the hour's one is used
  EXPECT_TRUE(budget.try_message(kMidnight + 3600));   // next hour, same day: the day allows two
  EXPECT_FALSE(budget.try_message(kMidnight + 7200));  // the day's two are used
  EXPECT_TRUE(budget.try_message(kMidnight + 86400));  // the next day
}

TEST(SendingBudget, OtherReplicasCountsLimitToo) {
  // Loaded with 9 recipients sent through other replicas this hour.
  SendingBudget budget{{3600, 86400}, Limits{std::nullopt, std::nullopt, 10, std::nullopt}, 7, {0, 9}, {0, 9}, kMidnight};
  EXPECT_TRUE(budget.try_recipient(kMidnight));
  EXPECT_FALSE(budget.try_recipient(kMidnight));
}

TEST(SendingBudget, CountsGoToPostgreSQLOnceAndComeBackSummed) {
  SendingBudget budget{{3600, 86400}, Limits{5, std::nullopt, std::nullopt, std::nullopt}, 7, {}, {}, kMidnight};
  ASSERT_TRUE(budget.try_message(kMidnight));
  ASSERT_TRUE(budget.try_recipient(kMidnight));
  ASSERT_TRUE(budget.try_recipient(kMidnight));
  EXPECT_TRUE(budget.has_unsynced());
  auto taken = budget.take_unsynced();
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].window, (UsageWindow{3600, kMidnight}));
  EXPECT_EQ(taken[0].usage, (SendingUsage{1, 2}));
  EXPECT_EQ(taken[1].window, (UsageWindow{86400, kMidnight}));
  // Counted meanwhile: stays for the next sync.
  ASSERT_TRUE(budget.try_message(kMidnight + 1));
  EXPECT_EQ(budget.used(3600, kMidnight + 1).messages, 2);  // in flight still counts
  budget.flushed();
  // Another replica sent 2 messages: the totals read back hold ours (1) and theirs.
  budget.refreshed({{7, {3600, kMidnight}, {3, 2}}, {7, {86400, kMidnight}, {3, 2}}});
  EXPECT_EQ(budget.used(3600, kMidnight + 1).messages, 4);  // 3 in PostgreSQL + 1 not yet added
  auto next = budget.take_unsynced();
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].usage, (SendingUsage{1, 0}));
  budget.flushed();
  EXPECT_FALSE(budget.has_unsynced());
}

TEST(SendingBudget, AFailedFlushIsAddedAgainNextTime) {
  SendingBudget budget{{3600, 86400}, Limits{}, 7, {}, {}, kMidnight};
  ASSERT_TRUE(budget.try_message(kMidnight));
  budget.take_unsynced();
  budget.flush_failed();
  EXPECT_EQ(budget.used(3600, kMidnight).messages, 1);
  auto again = budget.take_unsynced();
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].usage.messages, 1);
}

TEST(SendingBudget, NothingToAddWhenNothingCounted) {
  SendingBudget budget{{3600, 86400}, Limits{}, 7, {4, 4}, {4, 4}, kMidnight};
  EXPECT_TRUE(budget.take_unsynced().empty());
  EXPECT_FALSE(budget.has_unsynced());
  EXPECT_EQ(budget.windows(), (std::vector<UsageWindow>{{3600, kMidnight}, {86400, kMidnight}}));
}

}  // namespace
}  // namespace postern::policy
