// The sealed queue against a real PostgreSQL: what the tables hold of a sealed message (no
// plaintext), that every reader opens it byte-exact (the claim, the chunks, `queue show`), what a
// replica without the key sees, resealing under a new key, and that a replica older than
// migration 13 never claims a sealed message.
#include "postern/schema/message_chunks.hpp"
#include "postern/schema/migrations.hpp"
#include "postern/schema/queue_admin.hpp"
#include "postern/schema/queue_seal.hpp"
#include "postern/schema/queue_store.hpp"
#include "postern/schema/seal.hpp"
#include "postern/schema/store.hpp"
#include "support/pg_cluster.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <optional>
#include <sstream>

using namespace postern::schema;
using postern::test::PgCluster;

namespace {

SealKey key(const std::string& id, unsigned char fill) {
  SealKey k;
  k.id = id;
  k.bytes.fill(fill);
  return k;
}

const SealKey kNew = key("2026-12", 1);
const SealKey kOld = key("2026-06", 2);
const SealKeys kBoth{{kNew, kOld}};
const SealKeys kOldOnly{{kOld}};
const SealKeys kNewOnly{{kNew}};

// A body whose every line carries the marker, `size` bytes long.
std::string body_of(std::size_t size) {
  std::string body = "Subject: quarterly figures\r\nFrom: alice@example.com\r\n\r\n";
  while (body.size() < size) body += "CONFIDENTIAL-MARKER line of the body\r\n";
  body.resize(size - 2);
  return body + "\r\n";
}

QueuedMessage message_of(const std::string& body, const std::optional<SealKey>& seal) {
  QueuedMessage m;
  m.id = new_queue_id();
  m.sender = "alice@example.com";
  m.auth_user = "alice";
  m.client_address = "192.0.2.1";
  m.recipients = {"bob@example.org"};
  m.message = body;
  m.seal = seal;
  return m;
}

// Reads a message as delivery does: chunk by chunk, each opened knowing which is the last.
std::string read_opened(pqxx::connection_base& db, const std::string& id, std::uint64_t size, const SealKeys& keys) {
  std::string whole;
  const std::int64_t last = last_chunk_seq(size);
  for (int seq = 0; auto chunk = read_chunk(db, id, seq); ++seq) whole += open_chunk(keys, id, seq, seq == last, *chunk);
  return whole;
}

class QueueSeal : public testing::Test {
 protected:
  void SetUp() override {
    url_ = PgCluster::instance().fresh_database("queue_seal");
    store_.emplace(url_);
    migrate(db());
    prepare_queue_statements(db());
  }
  pqxx::connection_base& db() { return store_->connection(); }
  long count(const std::string& sql) {
    pqxx::read_transaction tx{db()};
    return tx.exec(sql)[0][0].as<long>();
  }
  // Whether any stored byte of the queue's chunks or seeds holds `text`.
  bool stored_anywhere(const std::string& text) {
    pqxx::read_transaction tx{db()};
    return tx.exec_params("SELECT count(*) FROM postern_message_chunks WHERE position($1::bytea IN data) > 0",
                          pqxx::binarystring(text))[0][0]
               .as<long>() > 0 ||
           tx.exec_params("SELECT count(*) FROM postern_queue WHERE position($1::bytea IN share_seed) > 0",
                          pqxx::binarystring(text))[0][0]
               .as<long>() > 0;
  }

  std::string url_;
  std::optional<Store> store_;
};

}  // namespace

TEST_F(QueueSeal, SealedBodiesHoldNoPlaintextAndOpenByteExact) {
  // One chunk; exactly two full chunks (the last one full: found by reading ahead); three and a bit.
  for (const std::size_t size : {std::size_t{300}, 2 * kChunkSize, 3 * kChunkSize + 5}) {
    SCOPED_TRACE(size);
    const std::string body = body_of(size);
    QueuedMessage m = message_of(body, kNew);
    enqueue(db(), m);
    EXPECT_FALSE(stored_anywhere("CONFIDENTIAL-MARKER"));
    EXPECT_FALSE(stored_anywhere("quarterly"));
    EXPECT_TRUE(read_opened(db(), m.id, size, kBoth) == body);
    std::ostringstream shown;
    write_queued_message(db(), m.id, shown, kBoth);
    EXPECT_TRUE(shown.str() == body);
    const auto details = show_queued(db(), m.id, kBoth);
    ASSERT_TRUE(details);
    EXPECT_EQ(details->size, static_cast<long long>(size));
    EXPECT_EQ(details->seal_key, "2026-12");
    EXPECT_EQ(details->headers, "Subject: quarterly figures\r\nFrom: alice@example.com\r\n");
  }
  EXPECT_EQ(count("SELECT count(*) FROM postern_queue WHERE seal_key = '2026-12'"), 3);
}

TEST_F(QueueSeal, TheClaimOpensASmallBodyAndTheShareSeed) {
  QueuedMessage m = message_of(body_of(500), kNew);
  m.shared.push_back({1, "xor", 2, "postern", {{"a@one.example", "one", ""}, {"b@two.example", "two", ""}}});
  m.share_seed = std::string(32, '\x5a');
  enqueue(db(), m);
  EXPECT_FALSE(stored_anywhere(m.share_seed));
  const auto claimed = claim_due(db(), "replica/boot", 10, 60, kBoth);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].seal_key, "2026-12");
  EXPECT_EQ(claimed[0].seal_error, "");
  ASSERT_TRUE(claimed[0].body);
  EXPECT_EQ(*claimed[0].body, body_of(500));
  EXPECT_EQ(claimed[0].share_seed, m.share_seed);
}

TEST_F(QueueSeal, AReplicaWithoutTheKeySaysWhichKeyAndReadsNothing) {
  QueuedMessage m = message_of(body_of(500), kNew);
  enqueue(db(), m);
  const auto claimed = claim_due(db(), "replica/boot", 10, 60, kOldOnly);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_FALSE(claimed[0].body);
  EXPECT_EQ(claimed[0].seal_error,
            "sealed under seal key 2026-12, which is not among the seal keys here (queue.seal_key_files)");
  const auto details = show_queued(db(), m.id, kOldOnly);
  ASSERT_TRUE(details);
  EXPECT_EQ(details->headers, "");
  EXPECT_EQ(details->seal_problem, claimed[0].seal_error);
  std::ostringstream shown;
  EXPECT_THROW(write_queued_message(db(), m.id, shown, kOldOnly), SealKeyMissing);
}

TEST_F(QueueSeal, ResealBringsClearAndOldMessagesUnderTheFirstKey) {
  const std::string big = body_of(2 * kChunkSize + 9);
  QueuedMessage clear = message_of(big, std::nullopt);
  QueuedMessage old = message_of(body_of(700), kOld);
  old.shared.push_back({1, "xor", 2, "postern", {{"a@one.example", "one", ""}, {"b@two.example", "two", ""}}});
  old.share_seed = std::string(32, '\x33');
  QueuedMessage current = message_of(body_of(800), kNew);
  for (auto* m : {&clear, &old, &current}) enqueue(db(), *m);
  EXPECT_TRUE(stored_anywhere("CONFIDENTIAL-MARKER"));  // the clear one

  const ResealOutcome outcome = reseal_queue(db(), kBoth, "operator");
  EXPECT_EQ(outcome.resealed, 2u);  // the current one was under the key already
  EXPECT_EQ(outcome.in_delivery, 0u);
  EXPECT_TRUE(outcome.unopenable.empty());
  EXPECT_FALSE(stored_anywhere("CONFIDENTIAL-MARKER"));
  EXPECT_EQ(count("SELECT count(*) FROM postern_queue WHERE seal_key = '2026-12'"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM postern_audit WHERE action = 'queue reseal' AND subject = '2026-12' "
                  "AND detail = '2 messages' AND actor = 'operator'"),
            1);

  // The old key can go: everything opens with the new one alone.
  EXPECT_TRUE(read_opened(db(), clear.id, big.size(), kNewOnly) == big);
  EXPECT_TRUE(read_opened(db(), old.id, 700, kNewOnly) == body_of(700));
  const auto claimed = claim_due(db(), "replica/boot", 10, 60, kNewOnly);
  ASSERT_EQ(claimed.size(), 3u);
  for (const auto& c : claimed) {
    EXPECT_EQ(c.seal_error, "") << c.id;
    if (c.id == old.id) {
      EXPECT_EQ(c.share_seed, old.share_seed);
    }
  }
}

TEST_F(QueueSeal, ResealLeavesWhatItCannotOpenAndWhatIsBeingDelivered) {
  QueuedMessage lost = message_of(body_of(400), key("2025-01", 9));
  QueuedMessage leased = message_of(body_of(400), kOld);
  enqueue(db(), lost);
  enqueue(db(), leased);
  {
    pqxx::work tx{db()};
    tx.exec_params("UPDATE postern_queue SET lease_owner = 'r/b', lease_until = now() + interval '60 seconds' "
                   "WHERE id = $1",
                   leased.id);
    tx.commit();
  }
  const ResealOutcome outcome = reseal_queue(db(), kBoth, "operator");
  EXPECT_EQ(outcome.resealed, 0u);
  EXPECT_EQ(outcome.in_delivery, 1u);
  ASSERT_EQ(outcome.unopenable.size(), 1u);
  EXPECT_EQ(outcome.unopenable[0],
            lost.id + ": sealed under seal key 2025-01, which is not among the seal keys here (queue.seal_key_files)");
  EXPECT_EQ(count("SELECT count(*) FROM postern_queue WHERE seal_key = '2025-01'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM postern_queue WHERE seal_key = '2026-06'"), 1);
}

TEST_F(QueueSeal, TamperingIsFoundByTheReader) {
  const std::string body = body_of(3 * kChunkSize);
  QueuedMessage m = message_of(body, kNew);
  enqueue(db(), m);
  {
    // Cut off at the end, the size made to match.
    pqxx::work tx{db()};
    tx.exec_params("DELETE FROM postern_message_chunks WHERE message_id = $1 AND seq = 2", m.id);
    tx.exec_params("UPDATE postern_queue SET size = $2 WHERE id = $1", m.id, static_cast<long long>(2 * kChunkSize));
    tx.commit();
  }
  EXPECT_THROW(read_opened(db(), m.id, 2 * kChunkSize, kBoth), SealBroken);
  std::ostringstream shown;
  EXPECT_THROW(write_queued_message(db(), m.id, shown, kBoth), SealBroken);
}

TEST_F(QueueSeal, AReplicaOlderThanSealingNeverClaimsASealedMessage) {
  enqueue(db(), message_of(body_of(300), kNew));
  pqxx::connection older{url_};
  prepare_queue_statements(older);
  older.set_variable("postern.opens_seals", "off");  // a replica older than migration 13
  EXPECT_TRUE(claim_due(older, "old", 10, 60).empty());
  EXPECT_EQ(claim_due(db(), "new", 10, 60, kBoth).size(), 1u);
}
