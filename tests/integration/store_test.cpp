// The PostgreSQL store and migrations against a real PostgreSQL 15.
#include "postern/schema/errors.hpp"
#include "postern/schema/migrations.hpp"
#include "postern/schema/password.hpp"
#include "postern/schema/store.hpp"
#include "support/pg_cluster.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <fstream>
#include <sstream>
#include <thread>

using namespace postern::schema;
using postern::test::PgCluster;

namespace {

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(POSTERN_SOURCE_DIR) + "/tests/fixtures/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Store migrated_store(const std::string& prefix) {
  Store store{PgCluster::instance().fresh_database(prefix)};
  migrate(store.connection());
  return store;
}

// How many embedded migrations only `mailadmin migrate --contract` applies.
std::size_t contract_migrations() {
  std::size_t n = 0;
  for (const auto& file : embedded_migrations()) n += file.is_contract() ? 1 : 0;
  return n;
}

}  // namespace

TEST(Migrations, FreshDatabaseGetsEveryMigrationOnce) {
  Store store{PgCluster::instance().fresh_database("mig_fresh")};
  auto applied = migrate(store.connection());
  EXPECT_EQ(applied.size(), embedded_migrations().size() - contract_migrations());
  EXPECT_TRUE(migrate(store.connection()).empty());
  auto plan = migration_status(store.connection());
  EXPECT_TRUE(plan.pending.empty());  // ready: contract steps wait for the operator
  EXPECT_EQ(plan.pending_contract.size(), contract_migrations());
  EXPECT_EQ(migrate(store.connection(), Contract::Apply).size(), contract_migrations());
  EXPECT_TRUE(migrate(store.connection(), Contract::Apply).empty());
  plan = migration_status(store.connection());
  EXPECT_TRUE(plan.pending.empty());
  EXPECT_TRUE(plan.pending_contract.empty());
  for (const auto& s : plan.status) EXPECT_EQ(s.state, MigrationState::Applied) << s.version;
}

TEST(Migrations, RefusesAChangedMigration) {
  Store store = migrated_store("mig_changed");
  {
    pqxx::work tx{store.connection()};
    tx.exec("UPDATE postern_schema_migrations SET checksum = 'tampered' WHERE version = 2");
    tx.commit();
  }
  EXPECT_THROW(migrate(store.connection()), SchemaError);
}

TEST(Migrations, ConcurrentMigratorsApplyEachMigrationOnce) {
  std::string url = PgCluster::instance().fresh_database("mig_race");
  std::vector<std::size_t> counts(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    threads.emplace_back([&, i] {
      pqxx::connection db{url};
      counts[i] = migrate(db).size();
    });
  }
  for (auto& t : threads) t.join();
  std::size_t total = 0;
  for (auto c : counts) total += c;
  EXPECT_EQ(total, embedded_migrations().size() - contract_migrations());
}

TEST(Migrations, UpgradesASecureEmailingDatabaseInPlace) {
  std::string url = PgCluster::instance().fresh_database("mig_seed");
  {
    pqxx::connection db{url};
    pqxx::work tx{db};
    tx.exec(read_fixture("secure_emailing.sql"));
    tx.commit();
  }
  Store store{url};
  migrate(store.connection());

  auto users = store.list_users();
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(users[0].name, "demo");
  auto demo = store.find_user("demo");
  ASSERT_TRUE(demo);
  EXPECT_TRUE(demo->legacy_password);
  EXPECT_EQ(demo->addresses, std::vector<std::string>{"demo@test.com"});
  EXPECT_EQ(demo->domains, std::vector<std::string>{"demo.com"});
  EXPECT_EQ(*store.users_of_address("user@test1.com"), (std::vector<std::string>{"test1", "test2"}));
  EXPECT_EQ(*store.users_of_domain("test1.com"), std::vector<std::string>{"test1"});

  // The legacy hash verifies the old password and asks for a rehash.
  auto creds = store.credentials("demo");
  ASSERT_TRUE(creds);
  EXPECT_EQ(verify_password("demo", creds->password_hash), PasswordCheck::MatchNeedsRehash);
  EXPECT_EQ(verify_password("wrong", creds->password_hash), PasswordCheck::Mismatch);

  // Real sequences: new rows get ids after the highest seed id, and deletes cascade.
  store.add_user("test3", hash_password("x", {1024, 1}), "tester");
  store.add_address("new@test1.com", "tester");
  store.grant_address("new@test1.com", "test3", "tester");
  pqxx::read_transaction tx{store.connection()};
  EXPECT_GT(tx.exec("SELECT id FROM emailing_users WHERE name = 'test3'")[0][0].as<int>(), 7);
  tx.commit();
  store.delete_user("test2", "tester");
  EXPECT_EQ(*store.users_of_address("user@test1.com"), std::vector<std::string>{"test1"});
}

TEST(Store, AddListShowAndDelete) {
  Store store = migrated_store("store_basic");
  store.add_user("alice", hash_password("pw", {1024, 1}), "tester");
  store.add_user("bob", hash_password("pw", {1024, 1}), "tester");
  store.add_domain("example.com", "tester");
  store.add_address("alice@example.org", "tester");
  store.grant_domain("example.com", "alice", "tester");
  store.grant_address("alice@example.org", "alice", "tester");

  auto users = store.list_users();
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].name, "alice");
  EXPECT_EQ(store.list_domains(), std::vector<std::string>{"example.com"});
  auto alice = store.find_user("alice");
  ASSERT_TRUE(alice);
  EXPECT_TRUE(alice->enabled);
  EXPECT_FALSE(alice->legacy_password);
  EXPECT_EQ(alice->domains, std::vector<std::string>{"example.com"});

  auto grants = store.grants_of("alice");
  ASSERT_TRUE(grants);
  EXPECT_EQ(grants->addresses, std::vector<std::string>{"alice@example.org"});
  EXPECT_EQ(grants->domains, std::vector<std::string>{"example.com"});
  auto bob = store.grants_of("bob");
  ASSERT_TRUE(bob);
  EXPECT_TRUE(bob->addresses.empty());
  EXPECT_FALSE(store.grants_of("nobody"));

  store.delete_domain("example.com", "tester");
  EXPECT_TRUE(store.grants_of("alice")->domains.empty());
}

TEST(Store, ErrorsNameWhatIsWrong) {
  Store store = migrated_store("store_errors");
  store.add_user("alice", hash_password("pw", {1024, 1}), "tester");
  store.add_address("a@example.com", "tester");
  EXPECT_THROW(store.add_user("alice", "x", "tester"), AlreadyExists);
  EXPECT_THROW(store.add_address("A@example.com", "tester"), AlreadyExists);
  try {
    store.grant_address("a@example.com", "carol", "tester");
    FAIL();
  } catch (const NotFound& e) {
    EXPECT_STREQ(e.what(), "user carol does not exist");
  }
  try {
    store.grant_address("b@example.com", "alice", "tester");
    FAIL();
  } catch (const NotFound& e) {
    EXPECT_STREQ(e.what(), "address b@example.com does not exist");
  }
  store.grant_address("a@example.com", "alice", "tester");
  EXPECT_THROW(store.grant_address("a@example.com", "alice", "tester"), AlreadyExists);
  store.revoke_address("a@example.com", "alice", "tester");
  EXPECT_THROW(store.revoke_address("a@example.com", "alice", "tester"), NotFound);
  EXPECT_THROW(store.delete_user("carol", "tester"), NotFound);
  EXPECT_THROW(store.set_enabled("carol", false, "tester"), NotFound);
}

TEST(Store, AuditRecordsEveryChange) {
  Store store = migrated_store("store_audit");
  store.add_user("alice", hash_password("pw", {1024, 1}), "ops");
  store.add_domain("example.com", "ops");
  store.grant_domain("example.com", "alice", "ops");
  store.set_enabled("alice", false, "ops");
  auto log = store.audit("");
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[2].action, "grant domain");
  EXPECT_EQ(log[2].subject, "example.com");
  EXPECT_EQ(log[2].detail, "to alice");
  EXPECT_EQ(log[3].actor, "ops");
  EXPECT_TRUE(store.audit("2999-01-01").empty());
  EXPECT_THROW(store.audit("not a date"), InvalidInput);
}

TEST(Store, PasswordUpgradeIsCompareAndSet) {
  Store store = migrated_store("store_upgrade");
  store.add_user("alice", "$legacy-md5$fe01ce2a7fbac8fafaed7c982a04e229", "ops");
  auto creds = *store.credentials("alice");
  store.upgrade_password_hash(creds.user_id, "something else", "$argon2id$new");
  EXPECT_EQ(store.credentials("alice")->password_hash, creds.password_hash);
  store.upgrade_password_hash(creds.user_id, creds.password_hash, "$argon2id$new");
  EXPECT_EQ(store.credentials("alice")->password_hash, "$argon2id$new");
}

TEST(Store, UnreachableDatabaseIsDatabaseUnavailable) {
  EXPECT_THROW(Store{"postgresql://postern@127.0.0.1:1/postern?connect_timeout=2"}, DatabaseUnavailable);
}
