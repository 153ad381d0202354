// UserCache and CredentialCache: hits, misses, expiry, eviction, invalidation, the ticket that
// keeps a value read before a change out, and nothing served while the listener is away.
#include "server/auth/credential_cache.hpp"
#include "server/runtime/user_cache.hpp"

#include <gtest/gtest.h>

namespace postern {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The cache as it is once the notification listener has connected.
struct ListeningCache : UserCache<int> {
  explicit ListeningCache(UserCacheLimits limits = {}) : UserCache<int>(limits) { set_listening(true); }
};

TEST(UserCache, MissThenHit) {
  ListeningCache cache{};
  const auto now = Clock::now();
  EXPECT_FALSE(cache.find("alice", now));
  cache.store("alice", 7, cache.ticket(), now);
  EXPECT_EQ(cache.find("alice", now), 7);
  EXPECT_FALSE(cache.find("bob", now));
}

TEST(UserCache, ExpiresAfterTtl) {
  ListeningCache cache{UserCacheLimits{30s, 10}};
  const auto now = Clock::now();
  cache.store("alice", 1, cache.ticket(), now);
  EXPECT_EQ(cache.find("alice", now + 29s), 1);
  EXPECT_FALSE(cache.find("alice", now + 30s));
}

TEST(UserCache, NewLimitsEmptyItAndApplyToLaterStores) {
  ListeningCache cache{UserCacheLimits{30s, 10}};
  const auto now = Clock::now();
  cache.store("alice", 1, cache.ticket(), now);
  const auto read_before = cache.ticket();
  cache.set_limits(UserCacheLimits{30s, 10});  // the same limits: nothing happens
  EXPECT_EQ(cache.find("alice", now), 1);
  cache.set_limits(UserCacheLimits{60s, 10});
  EXPECT_FALSE(cache.find("alice", now));
  cache.store("bob", 2, read_before, now);  // read under the old limits: not kept
  EXPECT_FALSE(cache.find("bob", now));
  cache.store("bob", 2, cache.ticket(), now);
  EXPECT_EQ(cache.find("bob", now + 59s), 2);
}

TEST(UserCache, ZeroTtlCachesNothing) {
  ListeningCache cache{UserCacheLimits{0s, 10}};
  const auto now = Clock::now();
  cache.store("alice", 1, cache.ticket(), now);
  EXPECT_FALSE(cache.find("alice", now));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(UserCache, OldestMakesRoomWhenFull) {
  ListeningCache cache{UserCacheLimits{60s, 2}};
  const auto now = Clock::now();
  cache.store("a", 1, cache.ticket(), now);
  cache.store("b", 2, cache.ticket(), now);
  cache.store("a", 3, cache.ticket(), now);  // stored again: now the newest
  cache.store("c", 4, cache.ticket(), now);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.find("b", now));
  EXPECT_EQ(cache.find("a", now), 3);
  EXPECT_EQ(cache.find("c", now), 4);
}

TEST(UserCache, InvalidateDropsOneUser) {
  ListeningCache cache{};
  const auto now = Clock::now();
  cache.store("alice", 1, cache.ticket(), now);
  cache.store("bob", 2, cache.ticket(), now);
  cache.invalidate("alice");
  EXPECT_FALSE(cache.find("alice", now));
  EXPECT_EQ(cache.find("bob", now), 2);
  cache.invalidate_all();
  EXPECT_FALSE(cache.find("bob", now));
}

TEST(UserCache, ValueReadBeforeAChangeIsNotKept) {
  ListeningCache cache{};
  const auto now = Clock::now();
  const auto ticket = cache.ticket();  // the read from PostgreSQL starts
  cache.invalidate("anyone");          // a change is notified meanwhile
  cache.store("alice", 1, ticket, now);
  EXPECT_FALSE(cache.find("alice", now));
  cache.store("alice", 1, cache.ticket(), now);  // read again after the change
  EXPECT_EQ(cache.find("alice", now), 1);
}

TEST(UserCache, NothingCachedUntilListeningAndWhileNot) {
  UserCache<int> cache{{}};
  const auto now = Clock::now();
  cache.store("alice", 1, cache.ticket(), now);
  EXPECT_FALSE(cache.find("alice", now));  // the listener never connected
  cache.set_listening(true);
  cache.store("alice", 1, cache.ticket(), now);
  EXPECT_EQ(cache.find("alice", now), 1);
  const auto ticket = cache.ticket();
  cache.set_listening(false);  // lost: everything goes, nothing comes in
  EXPECT_FALSE(cache.find("alice", now));
  cache.store("alice", 1, cache.ticket(), now);
  EXPECT_FALSE(cache.find("alice", now));
  cache.set_listening(true);
  cache.store("alice", 1, ticket, now);  // read before the loss
  EXPECT_FALSE(cache.find("alice", now));
}

schema::Credentials credentials(const char* hash) { return {42, hash, true}; }

TEST(CredentialCache, RemembersOnlyTheVerifiedPassword) {
  auth::CredentialCache cache{{60s, 10}};
  cache.entries().set_listening(true);
  const auto now = Clock::now();
  EXPECT_FALSE(cache.matches("alice", "secret", now));
  cache.remember("alice", "secret", credentials("$argon2id$one"), cache.ticket(), now);
  EXPECT_TRUE(cache.matches("alice", "secret", now));
  EXPECT_FALSE(cache.matches("alice", "Secret", now));
  EXPECT_FALSE(cache.matches("alice", "secret ", now));
  EXPECT_FALSE(cache.matches("alice", "", now));
  EXPECT_FALSE(cache.matches("bob", "secret", now));
  EXPECT_FALSE(cache.matches("alice", "secret", now + 60s));
}

TEST(CredentialCache, AChangedPasswordIsNeverServed) {
  auth::CredentialCache cache{{60s, 10}};
  cache.entries().set_listening(true);
  const auto now = Clock::now();
  cache.remember("alice", "old", credentials("$argon2id$old"), cache.ticket(), now);
  // `mailadmin passwd` commits, PostgreSQL notifies: the entry goes.
  cache.entries().invalidate("alice");
  EXPECT_FALSE(cache.matches("alice", "old", now));
  // A full check of the new password that began before the notification is not kept either.
  const auto ticket = cache.ticket();
  cache.entries().invalidate("alice");
  cache.remember("alice", "new", credentials("$argon2id$new"), ticket, now);
  EXPECT_FALSE(cache.matches("alice", "new", now));
}

TEST(CredentialCache, KeysDifferBetweenProcesses) {
  // Two caches (two starts of the relay) never share a digest: the key is random.
  auth::CredentialCache one{{60s, 10}}, two{{60s, 10}};
  one.entries().set_listening(true);
  two.entries().set_listening(true);
  const auto now = Clock::now();
  one.remember("alice", "secret", credentials("h"), one.ticket(), now);
  two.remember("alice", "secret", credentials("h"), two.ticket(), now);
  const auto a = one.entries().find("alice", now), b = two.entries().find("alice", now);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->digest, b->digest);
  EXPECT_EQ(a->stored_hash, "h");
}

}  // namespace
}  // namespace postern
