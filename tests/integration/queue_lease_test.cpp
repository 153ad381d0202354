// Leases against a real PostgreSQL, in real time: a restarted replica releases what its earlier
// boot held, and a short lease is taken over once it runs out, never before, after which the
// old owner can neither renew nor record.
#include "postern/schema/migrations.hpp"
#include "postern/schema/queue_store.hpp"
#include "postern/schema/store.hpp"
#include "support/pg_cluster.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <chrono>
#include <set>
#include <thread>

using namespace postern::schema;
using postern::test::PgCluster;
using Clock = std::chrono::steady_clock;

namespace {

const LeaseOwner kNodeABoot1{"node-a", "boot1"};
const LeaseOwner kNodeABoot2{"node-a", "boot2"};
const LeaseOwner kNodeBBoot1{"node-b", "boot1"};
const LeaseOwner kNodeAbBoot1{"node-ab", "boot1"};  // "node-a" is a prefix of its identity

class QueueLease : public testing::Test {
 protected:
  void SetUp() override {
    store_.emplace(PgCluster::instance().fresh_database("queue_lease"));
    migrate(db());
    prepare_queue_statements(db());
  }
  pqxx::connection_base& db() { return store_->connection(); }

  std::string enqueue_one() {
    QueuedMessage m;
    m.id = new_queue_id();
    m.sender = "alice@example.com";
    m.auth_user = "alice";
    m.client_address = "192.0.2.1";
    m.recipients = {"bob@example.org"};
    m.message = "Subject: x\r\n\r\nbody\r\n";
    enqueue(db(), m);
    return m.id;
  }

  // Claims one due message for `owner`; its id, or "" when nothing was claimed.
  std::string claim_one(const LeaseOwner& owner, int lease_seconds = 60) {
    auto claimed = claim_due(db(), owner.text(), 1, lease_seconds);
    return claimed.empty() ? "" : claimed[0].id;
  }

  std::string owner_of(const std::string& id) {
    pqxx::read_transaction tx{db()};
    auto row = tx.exec_params1("SELECT COALESCE(lease_owner, '') FROM postern_queue WHERE id = $1", id);
    return row[0].as<std::string>();
  }

  AttemptRecord delivered(const std::string& id, const LeaseOwner& owner) {
    return AttemptRecord{id, owner.text(), {{1, RecipientOutcome::Delivered, "250 ok"}}, 60, "", {}, {}};
  }

  std::optional<Store> store_;
};

}  // namespace

TEST_F(QueueLease, OwnerTextIsIdentitySlashBootId) {
  EXPECT_EQ(kNodeABoot1.text(), "node-a/boot1");
}

TEST_F(QueueLease, StartUpReleasesTheEarlierBootsOfItsOwnIdentityOnly) {
  for (int i = 0; i < 4; ++i) enqueue_one();
  const std::string a1 = claim_one(kNodeABoot1);
  const std::string a2 = claim_one(kNodeABoot1);
  const std::string b = claim_one(kNodeBBoot1);
  const std::string ab = claim_one(kNodeAbBoot1);
  ASSERT_EQ((std::set<std::string>{a1, a2, b, ab}).size(), 4u);
  EXPECT_EQ(claim_one(kNodeABoot2), "") << "every message is leased";

  EXPECT_EQ(release_earlier_boots(db(), kNodeABoot2), 2);

  EXPECT_EQ(owner_of(a1), "");
  EXPECT_EQ(owner_of(a2), "");
  EXPECT_EQ(owner_of(b), "node-b/boot1");
  EXPECT_EQ(owner_of(ab), "node-ab/boot1");
  // Due at once, not when the dead boot's 60 s leases would have run out.
  auto again = claim_due(db(), kNodeABoot2.text(), 10, 60);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ((std::set<std::string>{again[0].id, again[1].id}), (std::set<std::string>{a1, a2}));
  EXPECT_EQ(again[0].attempts, 2);
  // The dead boot, were it still running, could neither renew nor record.
  EXPECT_FALSE(renew_lease(db(), a1, kNodeABoot1.text(), 60));
  EXPECT_FALSE(record_attempt(db(), delivered(a1, kNodeABoot1)));
}

TEST_F(QueueLease, StartUpLeavesItsOwnBootsLeasesAlone) {
  const std::string id = enqueue_one();
  ASSERT_EQ(claim_one(kNodeABoot2), id);
  EXPECT_EQ(release_earlier_boots(db(), kNodeABoot2), 0);
  EXPECT_EQ(owner_of(id), "node-a/boot2");
  EXPECT_TRUE(record_attempt(db(), delivered(id, kNodeABoot2)));
}

TEST_F(QueueLease, ShortLeaseIsTakenOverWhenItRunsOutAndNotBefore) {
  constexpr int kLease = 2;
  const std::string id = enqueue_one();
  ASSERT_EQ(claim_one(kNodeABoot1, kLease), id);
  // Renewed twice within its length: the lease outlives its first 2 s.
  for (int i = 0; i < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{700});
    ASSERT_TRUE(renew_lease(db(), id, kNodeABoot1.text(), kLease));
    EXPECT_EQ(claim_one(kNodeBBoot1, kLease), "") << "taken over while renewed";
  }
  const auto last_renewal = Clock::now();
  // node-a stops renewing, as if it had died: node-b polls until it gets the message.
  std::string taken;
  while (taken.empty() && Clock::now() - last_renewal < std::chrono::seconds{kLease + 3}) {
    taken = claim_one(kNodeBBoot1, kLease);
    if (taken.empty()) std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
  const auto waited = Clock::now() - last_renewal;
  ASSERT_EQ(taken, id) << "not taken over within " << kLease + 3 << " s";
  EXPECT_GE(waited, std::chrono::milliseconds{kLease * 1000 - 100}) << "taken over before the lease ran out";
  EXPECT_LE(waited, std::chrono::milliseconds{kLease * 1000 + 1000});
  EXPECT_EQ(owner_of(id), "node-b/boot1");

  // node-a was only slow: its next renewal fails and its record is refused.
  EXPECT_FALSE(renew_lease(db(), id, kNodeABoot1.text(), kLease));
  EXPECT_FALSE(record_attempt(db(), delivered(id, kNodeABoot1)));
  EXPECT_EQ(owner_of(id), "node-b/boot1");
  EXPECT_TRUE(record_attempt(db(), delivered(id, kNodeBBoot1)));
  pqxx::read_transaction tx{db()};
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM postern_queue")[0].as<long>(), 0);
}
