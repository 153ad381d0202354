// AUTH brake without lockout: failures per client network and per (user, network), a per-user
// wait and cap for clean networks, counted from the start of each attempt, in a window.
#include "server/auth/failure_throttle.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using postern::auth::FailureThrottle;
using postern::auth::client_network;
using namespace std::chrono_literals;
using Result = FailureThrottle::Result;

namespace {

FailureThrottle::Limits limits() {
  FailureThrottle::Limits l;
  l.window = 60s;
  l.per_network = 8;
  l.per_user_network = 3;
  l.failure_delay = 100ms;
  l.user_delay = 1000ms;
  l.checks_per_user = 2;
  l.known_network_for = 24h;
  return l;
}

const auto t0 = FailureThrottle::Clock::time_point{} + 1000s;

// One whole attempt that fails: begin, a slot, end.
FailureThrottle::Attempt fail(FailureThrottle& throttle, const std::string& user, const std::string& address,
                              FailureThrottle::Clock::time_point now = t0) {
  auto attempt = throttle.begin(user, address, now);
  if (!attempt.refused) {
    EXPECT_TRUE(throttle.enter(attempt, now));
  }
  throttle.end(attempt, Result::Failure, now);
  return attempt;
}

}  // namespace

// The measurement: five wrong passwords for alice from five networks locked her out
// from a sixth. Now she gets in from there, waiting only the per-user delay.
TEST(FailureThrottle, OwnerFromAFreshNetworkGetsInAfterFailuresFromFiveOthers) {
  FailureThrottle throttle{FailureThrottle::Limits{}};  // the defaults
  for (int n = 1; n <= 5; ++n) {
    auto attempt = fail(throttle, "alice", "198.51.100." + std::to_string(n));
    EXPECT_FALSE(attempt.refused);
    EXPECT_EQ(attempt.delay, 0ms);
  }
  auto owner = throttle.begin("alice", "203.0.113.9", t0 + 1s);
  EXPECT_FALSE(owner.refused);
  EXPECT_EQ(owner.delay, 0ms);
  EXPECT_EQ(throttle.enter(owner, t0 + 1s), FailureThrottle::Limits{}.user_delay);
  throttle.end(owner, Result::Success, t0 + 2s);
  // And again, from the network she just logged in from: it is known, no wait at all.
  auto again = throttle.begin("alice", "203.0.113.9", t0 + 3s);
  EXPECT_TRUE(again.known);
  EXPECT_EQ(throttle.enter(again, t0 + 3s), 0ms);
  throttle.end(again, Result::Success, t0 + 3s);
}

TEST(FailureThrottle, UserDelayOnlyWhileTheUserIsUnderAttack) {
  FailureThrottle throttle{limits()};
  auto quiet = throttle.begin("alice", "192.0.2.1", t0);
  EXPECT_EQ(throttle.enter(quiet, t0), 0ms);
  throttle.end(quiet, Result::Success, t0);
  fail(throttle, "bob", "198.51.100.1");
  auto other = throttle.begin("alice", "192.0.2.2", t0);  // bob's attack does not slow alice
  EXPECT_EQ(throttle.enter(other, t0), 0ms);
  throttle.end(other, Result::Success, t0);
}

TEST(FailureThrottle, ANetworkGetsSlowerForTheUserThenRefusedAfterItsBudget) {
  FailureThrottle throttle{limits()};
  EXPECT_EQ(fail(throttle, "alice", "192.0.2.1").delay, 0ms);
  EXPECT_EQ(fail(throttle, "alice", "192.0.2.1").delay, 100ms);
  EXPECT_EQ(fail(throttle, "alice", "192.0.2.1").delay, 200ms);
  EXPECT_TRUE(throttle.begin("alice", "192.0.2.1", t0).refused);
  // Refused for alice only, and only there.
  auto bob = throttle.begin("bob", "192.0.2.1", t0);
  EXPECT_FALSE(bob.refused);
  EXPECT_EQ(bob.delay, 0ms);
  throttle.end(bob, Result::Undecided, t0);
  auto elsewhere = throttle.begin("alice", "192.0.2.2", t0);
  EXPECT_FALSE(elsewhere.refused);
  EXPECT_EQ(elsewhere.delay, 0ms);
  EXPECT_EQ(throttle.enter(elsewhere, t0), 1000ms);
}

TEST(FailureThrottle, NewLimitsJudgeTheFailuresCountedSoFar) {
  FailureThrottle throttle{limits()};
  fail(throttle, "alice", "192.0.2.1");
  fail(throttle, "alice", "192.0.2.1");
  FailureThrottle::Limits tighter = limits();
  tighter.per_user_network = 2;
  throttle.set_limits(tighter);
  auto refused = throttle.begin("alice", "192.0.2.1", t0);
  EXPECT_TRUE(refused.refused);
  throttle.end(refused, Result::Undecided, t0);
  throttle.set_limits(limits());
  auto again = throttle.begin("alice", "192.0.2.1", t0);
  EXPECT_FALSE(again.refused);
  EXPECT_EQ(again.delay, 200ms);
  throttle.end(again, Result::Undecided, t0);
}

TEST(FailureThrottle, ANetworksBudgetCoversEveryUserNameButNotItsKnownUsers) {
  FailureThrottle throttle{limits()};
  auto owner = throttle.begin("carol", "192.0.2.1", t0);
  ASSERT_TRUE(throttle.enter(owner, t0));
  throttle.end(owner, Result::Success, t0);
  for (int n = 0; n < 8; ++n) EXPECT_FALSE(fail(throttle, "user" + std::to_string(n), "192.0.2.1").refused);
  EXPECT_TRUE(throttle.begin("someone-new", "192.0.2.1", t0).refused);
  EXPECT_FALSE(throttle.begin("someone-new", "192.0.2.2", t0).refused);
  auto known = throttle.begin("carol", "192.0.2.1", t0);  // logged in from there before the spray
  EXPECT_FALSE(known.refused);
  EXPECT_TRUE(known.known);
}

TEST(FailureThrottle, SimultaneousGuessesNeverReachTheHashPastTheBudget) {
  // A first burst from a clean network is not refused at once (an application may open many
  // connections), but the budget is checked again before each hash, so no more than it are made.
  FailureThrottle throttle{limits()};
  std::vector<FailureThrottle::Attempt> attempts;
  for (int n = 0; n < 50; ++n) attempts.push_back(throttle.begin("alice", "192.0.2.1", t0));
  for (const auto& attempt : attempts) EXPECT_FALSE(attempt.refused);
  int hashed = 0;
  for (bool progress = true; progress;) {  // each round: whoever gets a slot is checked and fails
    std::vector<FailureThrottle::Attempt*> checking;
    for (auto& attempt : attempts) {
      if (!attempt.ended && !attempt.over_budget && throttle.enter(attempt, t0)) checking.push_back(&attempt);
    }
    for (auto* attempt : checking) throttle.end(*attempt, Result::Failure, t0);
    hashed += static_cast<int>(checking.size());
    progress = !checking.empty();
  }
  EXPECT_EQ(hashed, 3);
  for (auto& attempt : attempts) {
    if (attempt.ended) continue;
    EXPECT_TRUE(attempt.over_budget);
    throttle.end(attempt, Result::Undecided, t0);
  }
  EXPECT_TRUE(throttle.begin("alice", "192.0.2.1", t0).refused);
}

TEST(FailureThrottle, ConcurrentChecksPerUserAreCapped) {
  FailureThrottle throttle{limits()};
  auto first = throttle.begin("alice", "198.51.100.1", t0);
  auto second = throttle.begin("alice", "198.51.100.2", t0);
  auto third = throttle.begin("alice", "198.51.100.3", t0);
  EXPECT_TRUE(throttle.enter(first, t0));
  EXPECT_EQ(throttle.enter(second, t0), 0ms);  // no failure yet: not under attack
  EXPECT_FALSE(throttle.enter(third, t0));
  auto bob = throttle.begin("bob", "198.51.100.3", t0);  // the cap is per user
  EXPECT_EQ(throttle.enter(bob, t0), 0ms);
  throttle.end(first, Result::Failure, t0);
  EXPECT_EQ(throttle.enter(third, t0), 1000ms);
  throttle.end(second, Result::Failure, t0);
  throttle.end(third, Result::Failure, t0);
  throttle.end(bob, Result::Success, t0);
}

TEST(FailureThrottle, CleanNetworksGoBeforeNetworksThatFailedForTheUser) {
  FailureThrottle throttle{limits()};
  fail(throttle, "alice", "198.51.100.9");
  auto first = throttle.begin("alice", "198.51.100.1", t0);
  auto second = throttle.begin("alice", "198.51.100.2", t0);
  ASSERT_TRUE(throttle.enter(first, t0));
  ASSERT_TRUE(throttle.enter(second, t0));
  auto dirty = throttle.begin("alice", "198.51.100.9", t0);  // failed before: waits 100 ms first
  EXPECT_FALSE(dirty.clean);
  auto owner = throttle.begin("alice", "203.0.113.5", t0);
  EXPECT_TRUE(owner.clean);
  EXPECT_FALSE(throttle.enter(owner, t0));
  throttle.end(first, Result::Failure, t0);
  EXPECT_FALSE(throttle.enter(dirty, t0));  // the slot is the owner's
  EXPECT_EQ(throttle.enter(owner, t0), 1000ms);
  throttle.end(second, Result::Failure, t0);
  EXPECT_EQ(throttle.enter(dirty, t0), 1000ms);
  throttle.end(owner, Result::Success, t0);
  throttle.end(dirty, Result::Failure, t0);
}

TEST(FailureThrottle, AWaitingAttemptThatEndsLetsTheOthersIn) {
  FailureThrottle throttle{limits()};
  fail(throttle, "alice", "198.51.100.9");
  auto first = throttle.begin("alice", "198.51.100.1", t0);
  auto second = throttle.begin("alice", "198.51.100.2", t0);
  ASSERT_TRUE(throttle.enter(first, t0));
  ASSERT_TRUE(throttle.enter(second, t0));
  auto clean = throttle.begin("alice", "203.0.113.5", t0);
  EXPECT_FALSE(throttle.enter(clean, t0));
  throttle.end(clean, Result::Undecided, t0);  // gave up waiting
  throttle.end(first, Result::Failure, t0);
  auto dirty = throttle.begin("alice", "198.51.100.9", t0);
  EXPECT_TRUE(throttle.enter(dirty, t0));
}

TEST(FailureThrottle, KnownNetworksPassTheCap) {
  FailureThrottle throttle{limits()};
  auto login = throttle.begin("alice", "192.0.2.7", t0);
  ASSERT_TRUE(throttle.enter(login, t0));
  throttle.end(login, Result::Success, t0);
  auto first = throttle.begin("alice", "198.51.100.1", t0);
  auto second = throttle.begin("alice", "198.51.100.2", t0);
  ASSERT_TRUE(throttle.enter(first, t0));
  ASSERT_TRUE(throttle.enter(second, t0));
  auto owner = throttle.begin("alice", "192.0.2.7", t0);
  EXPECT_EQ(throttle.enter(owner, t0), 0ms);
  // Known for known_network_for after the last login there.
  auto late = throttle.begin("alice", "192.0.2.7", t0 + 25h);
  EXPECT_FALSE(late.known);
}

TEST(FailureThrottle, Ipv6NetworksAreSlash64s) {
  EXPECT_EQ(client_network("2001:db8:1:2::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(client_network("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
  EXPECT_EQ(client_network("2001:db8:1:3::1"), "2001:db8:1:3::/64");
  EXPECT_EQ(client_network("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(client_network("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(client_network("unknown"), "unknown");

  FailureThrottle throttle{limits()};
  fail(throttle, "alice", "2001:db8:1:2::1");
  fail(throttle, "alice", "2001:db8:1:2::2");
  fail(throttle, "alice", "2001:db8:1:2:aaaa::3");
  EXPECT_TRUE(throttle.begin("alice", "2001:db8:1:2:bbbb::4", t0).refused);
  auto next_door = throttle.begin("alice", "2001:db8:1:3::1", t0);
  EXPECT_FALSE(next_door.refused);
  EXPECT_EQ(next_door.delay, 0ms);
}

TEST(FailureThrottle, FailuresExpireAfterTheWindow) {
  FailureThrottle throttle{limits()};
  for (int n = 0; n < 3; ++n) fail(throttle, "alice", "192.0.2.1");
  EXPECT_TRUE(throttle.begin("alice", "192.0.2.1", t0 + 59s).refused);
  auto later = throttle.begin("alice", "192.0.2.1", t0 + 61s);
  EXPECT_FALSE(later.refused);
  EXPECT_EQ(later.delay, 0ms);
  EXPECT_EQ(throttle.enter(later, t0 + 61s), 0ms);  // no longer under attack either
}

TEST(FailureThrottle, SuccessForgetsTheNetworksFailuresForThatUser) {
  FailureThrottle throttle{limits()};
  fail(throttle, "alice", "192.0.2.1");
  fail(throttle, "alice", "192.0.2.1");
  auto right = throttle.begin("alice", "192.0.2.1", t0);
  EXPECT_EQ(right.delay, 200ms);
  ASSERT_TRUE(throttle.enter(right, t0));
  throttle.end(right, Result::Success, t0);
  EXPECT_EQ(throttle.begin("alice", "192.0.2.1", t0).delay, 0ms);
}

TEST(FailureThrottle, UndecidedAttemptsAreNotCounted) {
  FailureThrottle throttle{limits()};
  for (int n = 0; n < 10; ++n) {
    auto attempt = throttle.begin("alice", "192.0.2.1", t0);
    ASSERT_FALSE(attempt.refused);
    throttle.end(attempt, Result::Undecided, t0);
    throttle.end(attempt, Result::Failure, t0);  // a second end() changes nothing
  }
  EXPECT_EQ(throttle.begin("alice", "192.0.2.1", t0).delay, 0ms);
}

TEST(FailureThrottle, NetworkDelayStopsDoublingAtThirtyTwoTimes) {
  auto l = limits();
  l.per_user_network = 100;
  l.per_network = 100;
  FailureThrottle throttle{l};
  std::chrono::milliseconds last{0};
  for (int n = 0; n < 10; ++n) last = fail(throttle, "alice", "192.0.2.1").delay;
  EXPECT_EQ(last, 3200ms);
}
