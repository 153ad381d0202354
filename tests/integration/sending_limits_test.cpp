// What the relays' caches of users hear (the NOTIFYs of migration 0009, whoever changes the rows)
// and the sending limits' storage: users' own limits, counts added by several replicas and
// summed, windows that end, what mailadmin shows.
#include "postern/schema/errors.hpp"
#include "postern/schema/migrations.hpp"
#include "postern/schema/password.hpp"
#include "postern/schema/sending_limits.hpp"
#include "postern/schema/store.hpp"
#include "support/notification_recorder.hpp"
#include "support/pg_cluster.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <ctime>

using namespace postern::schema;
using postern::test::NotificationRecorder;
using postern::test::PgCluster;

namespace {

const Argon2Params kCheap{1024, 1};
using Payloads = std::vector<std::string>;

struct Database {
  std::string url;
  Store store;
};

Database migrated(const std::string& prefix) {
  std::string url = PgCluster::instance().fresh_database(prefix);
  Store store{url};
  migrate(store.connection());
  return {url, std::move(store)};
}

void sql(Store& store, const std::string& statement) {
  pqxx::work tx{store.connection()};
  tx.exec0(statement);
  tx.commit();
}

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace

TEST(UserNotifications, EveryChangeToAUserItsGrantsOrItsLimitsIsHeard) {
  auto d = migrated("user_notify");
  auto& store = d.store;
  NotificationRecorder relay{d.url, kUserChannel};
  store.add_user("alice", hash_password("one", kCheap), "test");
  EXPECT_EQ(relay.take(1), Payloads{"alice"});
  store.add_user("bob", hash_password("one", kCheap), "test");
  store.add_address("team@example.com", "test");
  store.add_domain("example.org", "test");
  EXPECT_EQ(relay.take(1), Payloads{"bob"});  // an address or domain alone concerns nobody yet

  store.set_password("alice", hash_password("two", kCheap), "test");
  EXPECT_EQ(relay.take(1), Payloads{"alice"});
  store.set_enabled("alice", false, "test");
  EXPECT_EQ(relay.take(1), Payloads{"alice"});
  store.set_enabled("alice", true, "test");
  EXPECT_EQ(relay.take(1), Payloads{"alice"});
  store.grant_address("team@example.com", "alice", "test");
  EXPECT_EQ(relay.take(1), Payloads{"alice"});
  store.grant_address("team@example.com", "bob", "test");
  EXPECT_EQ(relay.take(1), Payloads{"bob"});
  store.grant_domain("example.org", "alice", "test");
  EXPECT_EQ(relay.take(1), Payloads{"alice"});
  store.revoke_domain("example.org", "alice", "test");
  EXPECT_EQ(relay.take(1), Payloads{"alice"});

  // The relay's own writes: a login time is no change; a rehash is.
  const auto credentials = store.credentials("alice");
  ASSERT_TRUE(credentials);
  store.record_login(credentials->user_id);
  EXPECT_EQ(relay.take(0), Payloads{});
  store.upgrade_password_hash(credentials->user_id, credentials->password_hash, hash_password("two", kCheap));
  EXPECT_EQ(relay.take(1), Payloads{"alice"});

  // Deleting an address takes its grants: everyone who had it.
  store.delete_address("team@example.com", "test");
  auto both = relay.take(2);
  std::sort(both.begin(), both.end());
  EXPECT_EQ(both, (Payloads{"alice", "bob"}));

  set_sending_limits(store.connection(), "alice", {{LimitSetting::Kind::AtMost, 5}, {}, {}, {}}, "test");
  EXPECT_EQ(relay.take(1), Payloads{"alice"});
  set_sending_limits(store.connection(), "alice", {}, "test");
  EXPECT_EQ(relay.take(1), Payloads{"alice"});

  // SQL by hand cannot bypass it.
  sql(store, "UPDATE emailing_users SET enabled = false WHERE name = 'bob'");
  EXPECT_EQ(relay.take(1), Payloads{"bob"});
  sql(store, "UPDATE emailing_domains SET domain = 'example.net' WHERE domain = 'example.org'");
  EXPECT_EQ(relay.take(1), Payloads{kAllUsers});
  sql(store, "DELETE FROM emailing_users_domains");
  EXPECT_EQ(relay.take(0), Payloads{});  // no grants left: no rows, no one to tell

  store.delete_user("alice", "test");
  EXPECT_EQ(relay.take(1), Payloads{"alice"});
}

TEST(SendingLimits, OwnLimitsAreStoredAuditedAndReset) {
  auto d = migrated("limits_own");
  auto& db = d.store.connection();
  d.store.add_user("alice", hash_password("pw", kCheap), "test");
  EXPECT_EQ(sending_limits_of(db, "alice"), LimitOverrides{});
  const LimitOverrides own{{LimitSetting::Kind::AtMost, 100}, {LimitSetting::Kind::AtMost, 500},
                           {LimitSetting::Kind::Unlimited, 0}, {}};
  set_sending_limits(db, "alice", own, "operator");
  EXPECT_EQ(sending_limits_of(db, "alice"), own);
  const auto audit = d.store.audit("");
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit.back().action, "limit user");
  EXPECT_EQ(audit.back().subject, "alice");
  EXPECT_EQ(audit.back().detail, "100/hour 500/day messages, unlimited/hour default/day recipients");
  set_sending_limits(db, "alice", {}, "operator");
  EXPECT_EQ(sending_limits_of(db, "alice"), LimitOverrides{});
  pqxx::read_transaction tx{db};
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM postern_sending_limits")[0].as<int>(), 0);
}

TEST(SendingLimits, UnknownUserIsNotFound) {
  auto d = migrated("limits_unknown");
  EXPECT_THROW(sending_limits_of(d.store.connection(), "nobody"), NotFound);
  EXPECT_THROW(set_sending_limits(d.store.connection(), "nobody", {}, "test"), NotFound);
  EXPECT_FALSE(user_sending_state(d.store.connection(), "nobody", window_at(3600, now()), window_at(86400, now())));
}

TEST(SendingLimits, CountsOfReplicasAreSummedPerWindow) {
  auto d = migrated("limits_counts");
  auto& db = d.store.connection();
  d.store.add_user("alice", hash_password("pw", kCheap), "test");
  set_sending_limits(db, "alice", {{LimitSetting::Kind::AtMost, 7}, {}, {}, {}}, "test");
  const std::int64_t id = d.store.credentials("alice")->user_id;
  const auto hour = window_at(3600, now()), day = window_at(86400, now());
  const UsageWindow last_hour{3600, hour.start - 3600};

  add_sending_usage(db, "replica-a", {{id, hour, {2, 5}}, {id, day, {2, 5}}, {id, last_hour, {9, 9}}});
  add_sending_usage(db, "replica-b", {{id, hour, {1, 1}}, {id, day, {1, 1}}});
  add_sending_usage(db, "replica-a", {{id, hour, {1, 0}}, {id, day, {1, 0}}});  // added to its own row
  add_sending_usage(db, "replica-a", {});

  const auto state = user_sending_state(db, "alice", hour, day);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->user_id, id);
  EXPECT_EQ(state->overrides.messages_per_hour, (LimitSetting{LimitSetting::Kind::AtMost, 7}));
  EXPECT_EQ(state->hour, (SendingUsage{4, 6}));
  EXPECT_EQ(state->day, (SendingUsage{4, 6}));

  auto totals = sending_usage_totals(db, {{id, hour}, {id, day}, {id + 1, hour}});
  std::sort(totals.begin(), totals.end(), [](const auto& a, const auto& b) { return a.window.seconds < b.window.seconds; });
  ASSERT_EQ(totals.size(), 2u);
  EXPECT_EQ(totals[0].window, hour);
  EXPECT_EQ(totals[0].usage, (SendingUsage{4, 6}));
  EXPECT_EQ(totals[1].window, day);

  // What mailadmin shows: the windows that have not ended, summed over the replicas.
  const auto shown = current_sending_usage(db, "alice");
  ASSERT_EQ(shown.size(), 2u);
  EXPECT_EQ(shown[0].window, hour);
  EXPECT_EQ(shown[0].usage, (SendingUsage{4, 6}));
  EXPECT_EQ(shown[0].started_at.size(), 19u);
  EXPECT_EQ(shown[1].window, day);

  // The rows of the hour that ended go; the current ones stay.
  expire_sending_usage(db, now());
  pqxx::read_transaction tx{db};
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM postern_sending_usage WHERE window_start = " +
                     std::to_string(last_hour.start))[0].as<int>(), 0);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM postern_sending_usage")[0].as<int>(), 4);
}

TEST(SendingLimits, DeletingTheUserDeletesItsLimitsAndCounts) {
  auto d = migrated("limits_cascade");
  auto& db = d.store.connection();
  d.store.add_user("alice", hash_password("pw", kCheap), "test");
  const std::int64_t id = d.store.credentials("alice")->user_id;
  set_sending_limits(db, "alice", {{LimitSetting::Kind::AtMost, 7}, {}, {}, {}}, "test");
  add_sending_usage(db, "replica-a", {{id, window_at(3600, now()), {1, 1}}});
  d.store.delete_user("alice", "test");
  pqxx::read_transaction tx{db};
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM postern_sending_limits")[0].as<int>(), 0);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM postern_sending_usage")[0].as<int>(), 0);
}
