// Shared recipients in the queue (migration 0008) against a real PostgreSQL: the seed and the
// copied map go in with the message, a claim lists each shared recipient's pending shares, a
// record settles a recipient once none of its shares is pending, and a replica that does not
// deliver shares never claims such a message.
#include "postern/schema/migrations.hpp"
#include "postern/schema/queue_store.hpp"
#include "postern/schema/store.hpp"
#include "support/pg_cluster.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

using namespace postern::schema;
using postern::test::PgCluster;

namespace {

class QueueShares : public testing::Test {
 protected:
  void SetUp() override {
    url_ = PgCluster::instance().fresh_database("queue_shares");
    store_.emplace(url_);
    migrate(db());
    prepare_queue_statements(db());
  }
  pqxx::connection_base& db() { return store_->connection(); }

  // plain@example.net plain; bob@proxy.example as 3 shares, 2 of 3.
  std::string enqueue_shared() {
    QueuedMessage m;
    m.id = new_queue_id();
    m.sender = "alice@example.com";
    m.auth_user = "alice";
    m.client_address = "192.0.2.1";
    m.recipients = {"plain@example.net", "bob@proxy.example"};
    m.message = "Subject: x\r\n\r\nbody\r\n";
    m.share_seed = std::string(32, '\x07');
    m.shared.push_back({2, "shamir", 2, "postern",
                        {{"bob@mail-a.example", "provider-a", ""},
                         {"bob@mail-b.example", "provider-b", "account@mail-b.example"},
                         {"bob@mail-c.example", "provider-c", ""}}});
    enqueue(db(), m);
    return m.id;
  }

  std::string status_of(const std::string& id, int position) {
    pqxx::read_transaction tx{db()};
    return tx.exec_params("SELECT status FROM postern_queue_recipients WHERE message_id = $1 AND position = $2", id,
                          position)[0][0]
        .as<std::string>();
  }

  std::string url_;
  std::optional<Store> store_;
};

}  // namespace

TEST_F(QueueShares, AClaimListsTheSharedRecipientsPendingShares) {
  const auto id = enqueue_shared();
  auto claimed = claim_due(db(), "replica-a", 10, 60);
  ASSERT_EQ(claimed.size(), 1u);
  const auto& m = claimed[0];
  EXPECT_EQ(m.share_seed, std::string(32, '\x07'));
  ASSERT_EQ(m.recipients.size(), 2u);
  EXPECT_FALSE(m.recipients[0].shares);
  ASSERT_TRUE(m.recipients[1].shares);
  const auto& shares = *m.recipients[1].shares;
  EXPECT_EQ(shares.scheme, "shamir");
  EXPECT_EQ(shares.threshold, 2);
  EXPECT_EQ(shares.count, 3);
  ASSERT_EQ(shares.pending.size(), 3u);
  EXPECT_EQ(shares.pending[1].index, 2);
  EXPECT_EQ(shares.pending[1].target.mailbox, "bob@mail-b.example");
  EXPECT_EQ(shares.pending[1].target.upstream, "provider-b");
  EXPECT_EQ(shares.pending[1].target.envelope_from, "account@mail-b.example");
  EXPECT_EQ(shares.pending[0].target.envelope_from, "");
}

TEST_F(QueueShares, ARecipientSettlesOnceNoneOfItsSharesIsPending) {
  const auto id = enqueue_shared();
  auto first = claim_due(db(), "a", 10, 60);
  ASSERT_EQ(first.size(), 1u);
  AttemptRecord record{id, "a", {{1, RecipientOutcome::Delivered, "250 ok"}}, 0, "", std::nullopt,
                       {{2, 1, RecipientOutcome::Delivered, "250 ok"},
                        {2, 2, RecipientOutcome::Deferred, "451 later"},
                        {2, 3, RecipientOutcome::Delivered, "250 ok"}}};
  ASSERT_TRUE(record_attempt(db(), record));
  EXPECT_EQ(status_of(id, 2), "pending");
  // The next claim lists only the share still pending.
  auto second = claim_due(db(), "a", 10, 60);
  ASSERT_EQ(second.size(), 1u);
  ASSERT_EQ(second[0].recipients.size(), 1u);  // the plain one is done
  ASSERT_TRUE(second[0].recipients[0].shares);
  ASSERT_EQ(second[0].recipients[0].shares->pending.size(), 1u);
  EXPECT_EQ(second[0].recipients[0].shares->pending[0].index, 2);
  EXPECT_EQ(second[0].recipients[0].shares->count, 3);
  AttemptRecord last{id, "a", {}, 0, "", std::nullopt, {{2, 2, RecipientOutcome::Failed, "550 no"}}};
  ASSERT_TRUE(record_attempt(db(), last));
  // Settled (failed: one share failed) and the message is done.
  pqxx::read_transaction tx{db()};
  EXPECT_EQ(tx.exec_params("SELECT count(*) FROM postern_queue WHERE id = $1", id)[0][0].as<int>(), 0);
}

TEST_F(QueueShares, AReplicaThatDoesNotDeliverSharesNeverClaimsThem) {
  enqueue_shared();
  pqxx::connection older{url_};  // no postern.delivers_shares: a replica older than migration 8
  older.set_variable("postern.reads_chunks", "on");
  prepare_queue_statements(older);
  older.set_variable("postern.delivers_shares", "off");
  EXPECT_TRUE(claim_due(older, "old", 10, 60).empty());
  EXPECT_EQ(claim_due(db(), "new", 10, 60).size(), 1u);
}
