// The relay role against a real PostgreSQL: set_up_relay_role() creates it and grants it what
// the relay does, and nothing more. What the relay does is run here through the very functions
// postern calls (Store, queue_store, message_chunks, migrations), on a connection AS the role.
#include "postern/schema/dkim_keys.hpp"
#include "postern/schema/errors.hpp"
#include "postern/schema/message_chunks.hpp"
#include "postern/schema/migrations.hpp"
#include "postern/schema/password.hpp"
#include "postern/schema/queue_store.hpp"
#include "postern/schema/relay_role.hpp"
#include "postern/schema/sending_limits.hpp"
#include "postern/schema/store.hpp"
#include "support/pg_cluster.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <unistd.h>

#include <algorithm>

using namespace postern::schema;
using postern::test::PgCluster;

namespace {

const Argon2Params kCheap{1024, 1};

// The same database as `role` (a plain name: no percent-encoding needed). The test clusters
// trust loopback connections, so no password.
std::string as_role(const std::string& url, const std::string& role) {
  const auto user = url.find("://") + 3;
  return url.substr(0, user) + role + url.substr(url.find('@', user));
}

// Roles belong to the cluster, which other test binaries share: each test takes its own.
std::string role_for(const std::string& test) { return "relay_" + test + "_" + std::to_string(getpid()); }

struct RelayDatabase {
  std::string owner_url;
  std::string role;
  std::string relay_url;
};

RelayDatabase migrated_with_relay_role(const std::string& test) {
  RelayDatabase d{PgCluster::instance().fresh_database(test), role_for(test), ""};
  pqxx::connection owner{d.owner_url};
  migrate(owner);
  const auto outcome = set_up_relay_role(owner, d.owner_url, {d.role, std::nullopt});
  EXPECT_TRUE(outcome.created);
  EXPECT_FALSE(outcome.password_set);
  d.relay_url = as_role(d.owner_url, d.role);
  return d;
}

// Runs one statement as the relay in its own transaction; true when PostgreSQL refused it for
// want of a privilege.
bool refused(pqxx::connection_base& db, const std::string& sql) {
  try {
    pqxx::work tx{db};
    tx.exec(sql);
    tx.commit();
    return false;
  } catch (const pqxx::insufficient_privilege&) {
    return true;
  }
}

QueuedMessage message(const std::string& body, std::vector<std::string> recipients) {
  QueuedMessage m;
  m.id = new_queue_id();
  m.sender = "alice@example.com";
  m.auth_user = "alice";
  m.client_address = "192.0.2.1";
  m.helo = "client.example";
  m.recipients = std::move(recipients);
  m.message = body;
  return m;
}

}  // namespace

TEST(RelayRole, IsCreatedLoginWithEveryGrantAndSetUpAgainChangesNothing) {
  const auto d = migrated_with_relay_role("relay_ready");
  pqxx::connection owner{d.owner_url};
  const auto status = relay_role_status(owner, d.role);
  EXPECT_TRUE(status.exists);
  EXPECT_TRUE(status.can_login);
  EXPECT_FALSE(status.superuser);
  EXPECT_EQ(status.missing, std::vector<std::string>{});
  EXPECT_TRUE(status.ready());

  const auto again = set_up_relay_role(owner, d.owner_url, {d.role, std::nullopt});
  EXPECT_FALSE(again.created);
  EXPECT_FALSE(again.password_set);
  EXPECT_TRUE(relay_role_status(owner, d.role).ready());
}

TEST(RelayRole, DoesEverythingTheRelayDoes) {
  const auto d = migrated_with_relay_role("relay_does");
  Store admin{d.owner_url};
  const std::string old_hash = hash_password("alice-pw", kCheap);
  admin.add_user("alice", old_hash, "test");
  admin.add_address("alice@example.com", "test");
  admin.grant_address("alice@example.com", "alice", "test");
  admin.add_domain("corp.example", "test");
  admin.grant_domain("corp.example", "alice", "test");

  Store relay{d.relay_url};
  auto& db = relay.connection();
  // Readiness.
  EXPECT_TRUE(migration_status(db).pending.empty());
  {
    pqxx::nontransaction tx{db};
    tx.exec("SET statement_timeout = 5000");  // the blocking pool's first statement
    tx.exec("LISTEN postern_queue");           // the queue listener
    tx.exec("SELECT count(*), coalesce(extract(epoch from now() - min(created_at)), 0)::float8 "
            "FROM postern_queue");  // the queue gauges
  }
  // AUTH and the sender check.
  const auto credentials = relay.credentials("alice");
  ASSERT_TRUE(credentials.has_value());
  relay.upgrade_password_hash(credentials->user_id, old_hash, hash_password("alice-pw", kCheap));
  relay.record_login(credentials->user_id);
  const auto grants = relay.grants_of("alice");
  ASSERT_TRUE(grants.has_value());
  EXPECT_EQ(grants->addresses, std::vector<std::string>{"alice@example.com"});
  EXPECT_EQ(grants->domains, std::vector<std::string>{"corp.example"});
  EXPECT_NE(admin.find_user("alice")->last_login_at, "");
  {
    pqxx::nontransaction tx{db};
    tx.exec("LISTEN postern_users");  // the caches' listener
  }

  // Sending limits: the user's state, this replica's counts added, everyone's read, old ones gone.
  const auto hour = window_at(3600, 7200 * 1000), day = window_at(86400, 7200 * 1000);
  const auto limits = user_sending_state(db, "alice", hour, day);
  ASSERT_TRUE(limits.has_value());
  add_sending_usage(db, "relay-0", {{limits->user_id, hour, {1, 2}}, {limits->user_id, day, {1, 2}}});
  add_sending_usage(db, "relay-0", {{limits->user_id, hour, {1, 2}}});
  EXPECT_EQ(sending_usage_totals(db, {{limits->user_id, hour}}).at(0).usage, (SendingUsage{2, 4}));
  expire_sending_usage(db, 7200 * 1000 + 86400);

  // Intake: a body of two chunks.
  prepare_queue_statements(db);
  const std::string body = "Subject: big\r\n\r\n" + std::string(kChunkSize + 10, 'x') + "\r\n";
  auto queued = message(body, {"bob@example.org", "carol@example.net"});
  queued.dkim_body_hash = [] { return std::string("BODYHASH="); };
  WebhookSubscriptions hooks;
  hooks.add("ops", WebhookEventType::Accepted);
  hooks.add("ops", WebhookEventType::Delivered);
  hooks.add("ops", WebhookEventType::Bounced);
  queued.webhooks = hooks;
  enqueue(db, queued);

  // Delivery: restart release, claim, lease, body, attempt with a bounce, next due time.
  const LeaseOwner lease{"relay-0", "boot"};
  EXPECT_EQ(release_earlier_boots(db, lease), 0);
  const auto claimed = claim_due(db, lease.text(), 10, 30);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].recipients.size(), 2u);
  EXPECT_EQ(claimed[0].dkim_body_hash, "BODYHASH=");
  EXPECT_TRUE(renew_lease(db, queued.id, lease.text(), 30));
  std::string read;
  for (int seq = 0; auto chunk = read_chunk(db, queued.id, seq); ++seq) read += *chunk;
  EXPECT_EQ(read, body);

  AttemptRecord record{queued.id, lease.text(), {}, 60, "", std::nullopt, {}};
  record.recipients = {{1, RecipientOutcome::Delivered, "250 ok"}, {2, RecipientOutcome::Failed, "550 no"}};
  record.bounce = message("Subject: failure notice\r\n\r\nsorry\r\n", {"alice@example.com"});
  record.webhooks = hooks;
  EXPECT_TRUE(record_attempt(db, record));

  // Webhooks: the events written with the message and its attempt, claimed, failed, sent.
  auto events = claim_webhook_events(db, lease.text(), 10, 30, {"ops"});
  ASSERT_EQ(events.size(), 1u);  // one at a time per message: accepted for bob first
  EXPECT_EQ(events[0].type, "accepted");
  webhook_event_failed(db, lease.text(), events[0].id, 0, "connection refused");
  EXPECT_EQ(seconds_until_next_webhook(db, {"ops"}), std::optional<double>{0.0});
  events = claim_webhook_events(db, lease.text(), 10, 30, {"ops"});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].attempts, 1);
  webhook_events_sent(db, lease.text(), {events[0].id});
  EXPECT_TRUE(give_up_webhook_events(db, 3600).empty());
  events = claim_webhook_events(db, lease.text(), 10, 30, {"ops"});
  ASSERT_FALSE(events.empty());
  release_webhook_events(db, lease.text(), {events[0].id});
  EXPECT_EQ(release_earlier_webhook_leases(db, lease.identity, "relay-0/next-boot"), 0);
  EXPECT_EQ(seconds_until_next_due(db), std::optional<double>{0.0});  // the bounce, due now

  // DKIM keys, sealed by mailadmin, read and opened by delivery.
  SealKey seal_key{"k1", {}};
  seal_key.bytes.fill(7);
  const SealKeys seal_keys({seal_key});
  add_dkim_key(admin.connection(), "corp.example", "s1", "ed25519", seal_keys, "test");
  std::vector<std::string> unusable;
  const auto keys = dkim_signing_keys(db, seal_keys, unusable);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_TRUE(keys[0].private_pem.starts_with("-----BEGIN PRIVATE KEY-----")) << keys[0].private_pem;
  EXPECT_TRUE(unusable.empty());

  // The finished message went with its recipients and chunks (ON DELETE CASCADE, as the owner).
  pqxx::read_transaction tx{admin.connection()};
  const auto count = [&](const std::string& table, const char* column, const std::string& id) {
    return tx.exec_params1("SELECT count(*) FROM " + table + " WHERE " + column + " = $1", id)[0].as<int>();
  };
  EXPECT_EQ(count("postern_queue", "id", queued.id), 0);
  EXPECT_EQ(count("postern_queue_recipients", "message_id", queued.id), 0);
  EXPECT_EQ(count("postern_message_chunks", "message_id", queued.id), 0);
  EXPECT_EQ(count("postern_queue", "id", record.bounce->id), 1);
}

TEST(RelayRole, MayDoNothingElse) {
  const auto d = migrated_with_relay_role("relay_refused");
  Store admin{d.owner_url};
  admin.add_user("alice", hash_password("alice-pw", kCheap), "test");
  admin.add_address("alice@example.com", "test");

  Store relay{d.relay_url};
  // mailadmin's work: users, addresses, domains, grants, the audit log.
  EXPECT_THROW(relay.add_user("mallory", hash_password("x", kCheap), "relay"), pqxx::insufficient_privilege);
  EXPECT_THROW(relay.set_password("alice", hash_password("x", kCheap), "relay"), pqxx::insufficient_privilege);
  EXPECT_THROW(relay.set_enabled("alice", false, "relay"), pqxx::insufficient_privilege);
  EXPECT_THROW(relay.delete_user("alice", "relay"), pqxx::insufficient_privilege);
  EXPECT_THROW(relay.add_domain("evil.example", "relay"), pqxx::insufficient_privilege);
  EXPECT_THROW(relay.grant_address("alice@example.com", "alice", "relay"), pqxx::insufficient_privilege);
  EXPECT_THROW(relay.audit(""), pqxx::insufficient_privilege);

  auto& db = relay.connection();
  for (const char* sql : {
           "UPDATE emailing_users SET enabled = false",
           "UPDATE emailing_users SET name = 'mallory'",
           "DELETE FROM emailing_users",
           "INSERT INTO emailing_users_domains (id_user, id_domain) VALUES (1, 1)",
           "DELETE FROM emailing_addresses",
           "INSERT INTO postern_audit (actor, action, subject) VALUES ('relay', 'x', 'y')",
           "SELECT * FROM postern_audit",
           "DELETE FROM postern_audit",
           "INSERT INTO postern_schema_migrations (version, name, checksum) VALUES (9999, 'x', 'x')",
           "DELETE FROM postern_schema_migrations",
           "DELETE FROM postern_queue_recipients",
           "DELETE FROM postern_message_chunks",
           "UPDATE postern_message_chunks SET data = ''",
           "TRUNCATE postern_queue CASCADE",
           "DROP TABLE postern_queue CASCADE",
           "ALTER TABLE emailing_users ADD COLUMN x integer",
           "CREATE TABLE relay_owned (x integer)",
           "CREATE ROLE relay_made LOGIN",
           "INSERT INTO postern_dkim_keys (domain, selector, algorithm, private_key, public_key) "
           "VALUES ('evil.example', 's', 'ed25519', 'x', 'y')",
           "DELETE FROM postern_dkim_keys",
       }) {
    EXPECT_TRUE(refused(db, sql)) << sql;
  }
  pqxx::read_transaction tx{admin.connection()};
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM emailing_users WHERE enabled")[0].as<int>(), 1);
}

TEST(RelayRole, PasswordIsStoredAsItsScramSecretAndSetAgainOnRequest) {
  const std::string url = PgCluster::instance().fresh_database("relay_password");
  const std::string role = role_for("relay_password");
  pqxx::connection owner{url};
  migrate(owner);
  const auto created = set_up_relay_role(owner, url, {role, "first-Password"});
  EXPECT_TRUE(created.created);
  EXPECT_TRUE(created.password_set);
  const auto secret = [&] {
    pqxx::read_transaction tx{owner};
    return tx.exec_params1("SELECT rolpassword FROM pg_authid WHERE rolname = $1", role)[0].as<std::string>();
  };
  const std::string first = secret();
  EXPECT_EQ(first.rfind("SCRAM-SHA-256$", 0), 0u) << first;
  EXPECT_EQ(first.find("first-Password"), std::string::npos);

  const auto changed = set_up_relay_role(owner, url, {role, "second-Password"});
  EXPECT_FALSE(changed.created);
  EXPECT_TRUE(changed.password_set);
  EXPECT_NE(secret(), first);
  EXPECT_TRUE(relay_role_status(owner, role).ready());
}

TEST(RelayRole, AnyNameIsQuotedAndTheConnectedUserIsRefused) {
  const std::string url = PgCluster::instance().fresh_database("relay_names");
  pqxx::connection owner{url};
  migrate(owner);
  const std::string odd = "Relay \"x\"; DROP TABLE postern_queue; " + std::to_string(getpid());
  EXPECT_TRUE(set_up_relay_role(owner, url, {odd, std::nullopt}).created);
  EXPECT_TRUE(relay_role_status(owner, odd).ready());
  {
    pqxx::read_transaction tx{owner};
    EXPECT_EQ(tx.exec1("SELECT to_regclass('postern_queue') IS NOT NULL")[0].as<bool>(), true);
  }

  const auto me = [&] {
    pqxx::read_transaction tx{owner};
    return tx.exec1("SELECT current_user")[0].as<std::string>();
  }();
  EXPECT_THROW(set_up_relay_role(owner, url, {me, std::nullopt}), InvalidInput);
  EXPECT_THROW(check_relay_role_name(""), InvalidInput);
  EXPECT_THROW(check_relay_role_name(std::string(64, 'r')), InvalidInput);
  EXPECT_THROW(check_relay_role_name(std::string("a\0b", 3)), InvalidInput);
  EXPECT_NO_THROW(check_relay_role_name(std::string(63, 'r')));
}

TEST(RelayRole, StatusNamesEveryGrantAnUnmigratedDatabaseLacks) {
  const auto d = migrated_with_relay_role("relay_status");  // the role, granted elsewhere
  const std::string empty = PgCluster::instance().fresh_database("relay_status_empty");
  pqxx::connection db{empty};
  const auto status = relay_role_status(db, d.role);
  EXPECT_TRUE(status.exists);
  EXPECT_FALSE(status.ready());
  const auto has = [&](const std::string& grant) {
    return std::find(status.missing.begin(), status.missing.end(), grant) != status.missing.end();
  };
  EXPECT_TRUE(has("SELECT on emailing_users"));
  EXPECT_TRUE(has("UPDATE (password_hash, updated_at, last_login_at) on emailing_users"));
  EXPECT_TRUE(has("INSERT on postern_message_chunks"));
  EXPECT_TRUE(has("EXECUTE on postern_legacy_message_slice(text, integer, integer)"));
  EXPECT_FALSE(has("CONNECT on the database"));  // PUBLIC holds it

  EXPECT_FALSE(relay_role_status(db, role_for("relay_nobody")).exists);
}
