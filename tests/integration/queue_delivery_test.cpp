// The delivery side of the queue against a real PostgreSQL: leases, attempts, bounces.
#include "postern/schema/migrations.hpp"
#include "postern/schema/queue_store.hpp"
#include "postern/schema/store.hpp"
#include "support/pg_cluster.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <mutex>
#include <set>
#include <thread>

using namespace postern::schema;
using postern::test::PgCluster;

namespace {

class QueueDelivery : public testing::Test {
 protected:
  void SetUp() override {
    url_ = PgCluster::instance().fresh_database("queue_delivery");
    store_.emplace(url_);
    migrate(db());
    prepare_queue_statements(db());
  }
  pqxx::connection_base& db() { return store_->connection(); }

  std::string enqueue_one(std::vector<std::string> recipients = {"bob@example.org", "carol@example.net"}) {
    QueuedMessage m;
    m.id = new_queue_id();
    m.sender = "alice@example.com";
    m.auth_user = "alice";
    m.client_address = "192.0.2.1";
    m.recipients = std::move(recipients);
    m.message = "Subject: x\r\n\r\nbody\r\n";
    enqueue(db(), m);
    return m.id;
  }

  long count(const std::string& sql) {
    pqxx::read_transaction tx{db()};
    return tx.exec(sql)[0][0].as<long>();
  }

  std::string url_;
  std::optional<Store> store_;
};

}  // namespace

TEST_F(QueueDelivery, ClaimLeasesDueMessagesWithTheirPendingRecipients) {
  auto id = enqueue_one();
  auto claimed = claim_due(db(), "replica-a", 10, 60);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, id);
  EXPECT_EQ(claimed[0].attempts, 1);
  ASSERT_EQ(claimed[0].recipients.size(), 2u);
  EXPECT_EQ(claimed[0].recipients[1].address, "carol@example.net");
  EXPECT_EQ(claimed[0].size, std::string("Subject: x\r\n\r\nbody\r\n").size());  // the body: read_chunk()
  // Leased: nobody else gets it.
  EXPECT_TRUE(claim_due(db(), "replica-b", 10, 60).empty());
}

TEST_F(QueueDelivery, DeliveredMessageLeavesTheQueue) {
  auto id = enqueue_one();
  auto claimed = claim_due(db(), "a", 10, 60);
  AttemptRecord record{id, "a", {{1, RecipientOutcome::Delivered, "250 ok"}, {2, RecipientOutcome::Delivered, "250 ok"}}, 60, "", {}, {}};
  EXPECT_TRUE(record_attempt(db(), record));
  EXPECT_EQ(count("SELECT count(*) FROM postern_queue"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM postern_queue_recipients"), 0);
}

TEST_F(QueueDelivery, DeferredRecipientWaitsForItsRetryAndKeepsTheOthersDone) {
  auto id = enqueue_one();
  claim_due(db(), "a", 10, 60);
  AttemptRecord record{id, "a", {{1, RecipientOutcome::Delivered, "250 ok"}, {2, RecipientOutcome::Deferred, "451 later"}}, 3600, "451 later", {}, {}};
  EXPECT_TRUE(record_attempt(db(), record));
  EXPECT_TRUE(claim_due(db(), "a", 10, 60).empty());
  auto due = seconds_until_next_due(db());
  ASSERT_TRUE(due);
  EXPECT_GT(*due, 3500);
  EXPECT_EQ(count("SELECT count(*) FROM postern_queue WHERE last_error = '451 later' AND lease_owner IS NULL"), 1);
  {
    pqxx::work tx{db()};
    tx.exec("UPDATE postern_queue SET next_attempt_at = now()");
    tx.commit();
  }
  auto again = claim_due(db(), "a", 10, 60);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 2);
  ASSERT_EQ(again[0].recipients.size(), 1u);
  EXPECT_EQ(again[0].recipients[0].address, "carol@example.net");
}

TEST_F(QueueDelivery, FailedRecipientQueuesTheBounceInTheSameTransaction) {
  auto id = enqueue_one({"nobody@example.org"});
  claim_due(db(), "a", 10, 60);
  QueuedMessage bounce;
  bounce.id = new_queue_id();
  bounce.sender = "";
  bounce.auth_user = "postern";
  bounce.client_address = "localhost";
  bounce.recipients = {"alice@example.com"};
  bounce.message = "Subject: Undelivered\r\n\r\n";
  AttemptRecord record{id, "a", {{1, RecipientOutcome::Failed, "550 5.1.1 no such user"}}, 60, "", bounce, {}};
  EXPECT_TRUE(record_attempt(db(), record));
  EXPECT_EQ(count("SELECT count(*) FROM postern_queue"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM postern_queue WHERE sender = '' AND id = '" + bounce.id + "'"), 1);
}

TEST_F(QueueDelivery, ExpiredLeaseIsTakenOverAndTheOldOwnerCannotRecord) {
  auto id = enqueue_one();
  claim_due(db(), "dead-replica", 10, 60);
  {
    pqxx::work tx{db()};
    tx.exec("UPDATE postern_queue SET lease_until = now() - interval '1 second'");
    tx.commit();
  }
  auto claimed = claim_due(db(), "survivor", 10, 60);
  ASSERT_EQ(claimed.size(), 1u);
  AttemptRecord stale{id, "dead-replica", {{1, RecipientOutcome::Delivered, "250"}, {2, RecipientOutcome::Delivered, "250"}}, 60, "", {}, {}};
  EXPECT_FALSE(record_attempt(db(), stale));
  EXPECT_EQ(count("SELECT count(*) FROM postern_queue"), 1);
}

TEST_F(QueueDelivery, ConcurrentClaimersNeverShareAMessage) {
  for (int i = 0; i < 200; ++i) enqueue_one({"r@example.org"});
  std::mutex mutex;
  std::multiset<std::string> seen;
  std::vector<std::thread> claimers;
  for (int t = 0; t < 4; ++t) {
    claimers.emplace_back([&, t] {
      Store own{url_};
      prepare_queue_statements(own.connection());
      for (;;) {
        auto batch = claim_due(own.connection(), "replica-" + std::to_string(t), 7, 60);
        if (batch.empty()) return;
        std::lock_guard lock{mutex};
        for (auto& m : batch) seen.insert(m.id);
      }
    });
  }
  for (auto& c : claimers) c.join();
  EXPECT_EQ(seen.size(), 200u);
  for (const auto& id : seen) EXPECT_EQ(seen.count(id), 1u) << id;
}

TEST_F(QueueDelivery, HeldMessagesAreNotClaimed) {
  enqueue_one();
  {
    pqxx::work tx{db()};
    tx.exec("UPDATE postern_queue SET held = true");
    tx.commit();
  }
  EXPECT_TRUE(claim_due(db(), "a", 10, 60).empty());
  EXPECT_FALSE(seconds_until_next_due(db()));
}
