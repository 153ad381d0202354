// Message bodies as chunk rows against a real PostgreSQL: byte-exact round trips, bodies that
// replicas older than migration 5 queued whole, the migration that moves them, what an older
// replica's claim may take during the rollout, and the contract step.
#include "postern/schema/errors.hpp"
#include "postern/schema/message_chunks.hpp"
#include "postern/schema/migrations.hpp"
#include "postern/schema/queue_admin.hpp"
#include "postern/schema/queue_store.hpp"
#include "postern/schema/store.hpp"
#include "support/pg_cluster.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <chrono>
#include <random>
#include <sstream>
#include <thread>

using namespace postern::schema;
using postern::test::PgCluster;

namespace {

std::string random_bytes(std::size_t size, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random() & 0xff);
  return bytes;
}

// Reads `text` in pieces of odd sizes, as a spool would hand it over.
ChunkSource uneven_source(const std::string& text) {
  return [&text, offset = std::size_t{0}, turn = 0u](char* data, std::size_t size) mutable {
    const std::size_t n = text.copy(data, std::min<std::size_t>(size, 1000 + 7919 * (turn++ % 40)), offset);
    offset += n;
    return n;
  };
}

std::string read_whole(pqxx::connection_base& db, const std::string& id, std::size_t* chunks = nullptr) {
  std::string whole;
  int seq = 0;
  for (; auto chunk = read_chunk(db, id, seq); ++seq) {
    EXPECT_LE(chunk->size(), kChunkSize);
    whole += *chunk;
  }
  if (chunks) *chunks = static_cast<std::size_t>(seq);
  return whole;
}

QueuedMessage envelope(const std::string& id) {
  QueuedMessage m;
  m.id = id;
  m.sender = "alice@example.com";
  m.auth_user = "alice";
  m.client_address = "192.0.2.1";
  m.recipients = {"bob@example.org"};
  return m;
}

// A message as a release before migration 5 queued it: the body whole in postern_queue.message.
void insert_whole_body(pqxx::connection_base& db, const std::string& id, const std::string& body) {
  pqxx::work tx{db};
  tx.exec_params("INSERT INTO postern_queue (id, sender, auth_user, client_address, message, size) "
                 "VALUES ($1, 'alice@example.com', 'alice', '192.0.2.1', $2, $3)",
                 id, pqxx::binarystring(body.data(), body.size()), static_cast<long>(body.size()));
  tx.exec_params("INSERT INTO postern_queue_recipients (message_id, position, recipient) "
                 "VALUES ($1, 1, 'bob@example.org')", id);
  tx.commit();
}

// The schema as it stood before migration `first_missing`, with the runner's bookkeeping, so
// that migrate() goes on from there.
void migrate_before(pqxx::connection_base& db, int first_missing) {
  pqxx::work tx{db};
  tx.exec("CREATE TABLE postern_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
          "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
  for (const auto& file : embedded_migrations()) {
    if (file.version >= first_missing) break;
    tx.exec(file.sql);
    tx.exec_params("INSERT INTO postern_schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                   file.version, file.name, migration_checksum(file.sql));
  }
  tx.commit();
}

// The claim statement of a release before migration 5, which reads the body from the column.
constexpr const char* kOlderReleaseClaim = R"sql(
WITH due AS (
  SELECT id FROM postern_queue
   WHERE NOT held AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
   ORDER BY next_attempt_at LIMIT 10 FOR UPDATE SKIP LOCKED
)
UPDATE postern_queue q SET lease_owner = 'older', lease_until = now() + interval '60 seconds'
  FROM due WHERE q.id = due.id
RETURNING q.id, q.message
)sql";

class MessageChunks : public testing::Test {
 protected:
  void SetUp() override {
    url_ = PgCluster::instance().fresh_database("message_chunks");
    store_.emplace(url_);
  }
  void migrate_and_prepare() {
    migrate(db());
    prepare_queue_statements(db());
  }
  pqxx::connection_base& db() { return store_->connection(); }
  long count(const std::string& sql) {
    pqxx::read_transaction tx{db()};
    return tx.exec(sql)[0][0].as<long>();
  }

  std::string url_;
  std::optional<Store> store_;
};

}  // namespace

TEST_F(MessageChunks, ThreeMiBRoundTripByteExact) {
  migrate_and_prepare();
  const std::string body = random_bytes(3 * 1024 * 1024 + 5, 1);
  QueuedMessage m = envelope(new_queue_id());
  m.content = uneven_source(body);
  enqueue(db(), m);

  std::size_t chunks = 0;
  EXPECT_TRUE(read_whole(db(), m.id, &chunks) == body);  // not EXPECT_EQ: no 3 MiB diff on failure
  EXPECT_EQ(chunks, 13u);
  EXPECT_EQ(count("SELECT size FROM postern_queue"), static_cast<long>(body.size()));
  EXPECT_EQ(count("SELECT count(*) FROM postern_queue WHERE message IS NOT NULL"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM postern_message_chunks WHERE octet_length(data) <> 262144"), 1);
  EXPECT_FALSE(read_chunk(db(), m.id, 13));
  EXPECT_FALSE(read_chunk(db(), "no-such-message", 0));

  const auto claimed = claim_due(db(), "replica/boot", 10, 60);  // the envelope and the size
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].size, body.size());
}

TEST_F(MessageChunks, StoreChunksRunsInTheCallersTransaction) {
  migrate_and_prepare();
  const std::string body = random_bytes(kChunkSize * 2, 2);  // exactly two full chunks
  const std::string id = new_queue_id();
  {
    pqxx::work tx{db()};
    tx.exec_params("INSERT INTO postern_queue (id, sender, auth_user, client_address, size) "
                   "VALUES ($1, 'a@b.example', 'a', '192.0.2.1', 0)", id);
    ChunkStream stream{uneven_source(body)};
    EXPECT_EQ(store_chunks(tx, id, stream), body.size());
  }  // rolled back
  EXPECT_EQ(count("SELECT count(*) FROM postern_message_chunks"), 0);
  {
    pqxx::work tx{db()};
    tx.exec_params("INSERT INTO postern_queue (id, sender, auth_user, client_address, size) "
                   "VALUES ($1, 'a@b.example', 'a', '192.0.2.1', 0)", id);
    ChunkStream stream{uneven_source(body)};
    store_chunks(tx, id, stream);
    tx.commit();
  }
  std::size_t chunks = 0;
  EXPECT_TRUE(read_whole(db(), id, &chunks) == body);
  EXPECT_EQ(chunks, 2u);
}

TEST_F(MessageChunks, EmptyMessageHasNoChunk) {
  migrate_and_prepare();
  QueuedMessage m = envelope(new_queue_id());
  enqueue(db(), m);
  EXPECT_FALSE(read_chunk(db(), m.id, 0));
  EXPECT_EQ(count("SELECT count(*) FROM postern_message_chunks"), 0);
}

TEST_F(MessageChunks, OlderReplicasWholeBodyIsServedInSlices) {
  migrate_and_prepare();
  const std::string body = random_bytes(kChunkSize * 2 + 100, 3);
  insert_whole_body(db(), "LEGACY", body);
  EXPECT_TRUE(read_chunk(db(), "LEGACY", 0) == body.substr(0, kChunkSize));
  EXPECT_TRUE(read_chunk(db(), "LEGACY", 2) == body.substr(2 * kChunkSize));
  EXPECT_FALSE(read_chunk(db(), "LEGACY", 3));
  EXPECT_TRUE(read_whole(db(), "LEGACY") == body);
  insert_whole_body(db(), "EMPTY", "");
  EXPECT_FALSE(read_chunk(db(), "EMPTY", 0));

  std::ostringstream shown;
  write_queued_message(db(), "LEGACY", shown);
  EXPECT_TRUE(shown.str() == body);
}

TEST_F(MessageChunks, QueueShowReadsTheHeaderAndTheBodyFromChunks) {
  migrate_and_prepare();
  const std::string body = "Subject: big\r\nFrom: alice@example.com\r\n\r\n" + random_bytes(3 * 1024 * 1024, 4);
  QueuedMessage m = envelope(new_queue_id());
  m.content = uneven_source(body);
  enqueue(db(), m);
  const auto details = show_queued(db(), m.id);
  ASSERT_TRUE(details);
  EXPECT_EQ(details->headers, "Subject: big\r\nFrom: alice@example.com\r\n");
  EXPECT_EQ(details->size, static_cast<long long>(body.size()));
  std::ostringstream shown;
  write_queued_message(db(), m.id, shown);
  EXPECT_TRUE(shown.str() == body);
  std::ostringstream none;
  EXPECT_THROW(write_queued_message(db(), "NOSUCHID", none), NotFound);
}

TEST_F(MessageChunks, Migration5MovesQueuedBodiesIntoChunks) {
  migrate_before(db(), 5);
  const std::string big = random_bytes(600 * 1024, 5);
  insert_whole_body(db(), "BIG", big);
  insert_whole_body(db(), "EMPTY", "");
  migrate(db());
  prepare_queue_statements(db());
  EXPECT_EQ(count("SELECT count(*) FROM postern_queue WHERE message IS NOT NULL"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM postern_message_chunks WHERE message_id = 'BIG'"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM postern_message_chunks WHERE message_id = 'EMPTY'"), 0);
  EXPECT_EQ(count("SELECT size FROM postern_queue WHERE id = 'BIG'"), static_cast<long>(big.size()));
  EXPECT_TRUE(read_whole(db(), "BIG") == big);
  EXPECT_FALSE(read_chunk(db(), "EMPTY", 0));
}

TEST_F(MessageChunks, OlderReplicasClaimSkipsMessagesStoredInChunks) {
  migrate_and_prepare();
  QueuedMessage chunked = envelope("CHUNKED");
  chunked.message = "Subject: new\r\n\r\nbody\r\n";
  enqueue(db(), chunked);
  insert_whole_body(db(), "WHOLE", "Subject: old\r\n\r\nbody\r\n");

  pqxx::connection older{url_};  // never says it reads chunks
  {
    pqxx::work tx{older};
    const auto rows = tx.exec(kOlderReleaseClaim);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0][0].as<std::string>(), "WHOLE");
    EXPECT_EQ(pqxx::binarystring(rows[0][1]).str(), "Subject: old\r\n\r\nbody\r\n");
    tx.commit();
  }
  const auto claimed = claim_due(db(), "replica/boot", 10, 60);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, "CHUNKED");
  EXPECT_EQ(claimed[0].size, chunked.message.size());
}

TEST_F(MessageChunks, ContractStepMovesStragglersAndDropsTheColumn) {
  migrate_and_prepare();
  const std::string body = random_bytes(300 * 1024, 6);
  insert_whole_body(db(), "STRAGGLER", body);  // an older replica queued it during the rollout
  EXPECT_TRUE(read_whole(db(), "STRAGGLER") == body);

  pqxx::connection migrator{url_};
  EXPECT_EQ(migrate(migrator, Contract::Apply), std::vector<int>{6});
  EXPECT_EQ(count("SELECT count(*) FROM information_schema.columns "
                  "WHERE table_name = 'postern_queue' AND column_name = 'message'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM postern_message_chunks WHERE message_id = 'STRAGGLER'"), 2);
  // Statements prepared before the contract step still work after it.
  EXPECT_TRUE(read_whole(db(), "STRAGGLER") == body);
  EXPECT_FALSE(read_chunk(db(), "NOSUCHID", 0));
  QueuedMessage m = envelope(new_queue_id());
  m.message = "Subject: after\r\n\r\n";
  enqueue(db(), m);
  EXPECT_EQ(read_whole(db(), m.id), "Subject: after\r\n\r\n");
  EXPECT_EQ(show_queued(db(), m.id)->headers, "Subject: after\r\n");
  const auto claimed = claim_due(db(), "replica/boot", 10, 60);
  ASSERT_EQ(claimed.size(), 2u);
  for (const auto& c : claimed) {
    EXPECT_EQ(c.size, (c.id == m.id ? m.message : body).size()) << c.id;
    EXPECT_TRUE(read_whole(db(), c.id) == (c.id == m.id ? m.message : body)) << c.id;
  }
}

TEST_F(MessageChunks, ContractStepRefusesWhileAnOlderReplicaQueues) {
  migrate_and_prepare();
  // An older replica's insert is under way (uncommitted) when the contract step starts.
  pqxx::connection older{url_};
  pqxx::work queueing{older};
  queueing.exec("INSERT INTO postern_queue (id, sender, auth_user, client_address, message, size) "
                "VALUES ('LATE', 'a@b.example', 'a', '192.0.2.1', '\\x41'::bytea, 1)");
  std::string refusal;
  std::thread contract([&] {
    pqxx::connection migrator{url_};
    try {
      migrate(migrator, Contract::Apply);
    } catch (const SchemaError& e) {
      refusal = e.what();
    }
  });
  // Commit once the contract step waits for its table lock, past its own moving of stragglers.
  for (int i = 0; i < 200 && count("SELECT count(*) FROM pg_locks WHERE NOT granted") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  queueing.commit();
  contract.join();
  EXPECT_EQ(refusal,
            "migration 6 (contract_drop_queue_message) refused: postern_queue.message still holds 1 message "
            "bodies: a replica older than migration 5 is still queueing. Finish the rollout, then run "
            "mailadmin migrate --contract again");
  EXPECT_EQ(count("SELECT count(*) FROM information_schema.columns "
                  "WHERE table_name = 'postern_queue' AND column_name = 'message'"), 1);
  EXPECT_EQ(migrate(db(), Contract::Apply), std::vector<int>{6});  // the rollout is over
  EXPECT_EQ(read_whole(db(), "LATE"), "A");
}
