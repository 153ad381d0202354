// The queue's enqueue statement against a real PostgreSQL.
#include "postern/schema/migrations.hpp"
#include "postern/schema/queue_store.hpp"
#include "postern/schema/store.hpp"
#include "support/pg_cluster.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <set>

using namespace postern::schema;
using postern::test::PgCluster;

TEST(QueueStore, IdsAreTwentyCharactersAndDistinct) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    auto id = new_queue_id();
    EXPECT_EQ(id.size(), 20u);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(QueueStore, EnqueueStoresMessageAndRecipientsByteForByteAndNotifies) {
  Store store{PgCluster::instance().fresh_database("queue_enqueue")};
  auto& db = store.connection();
  migrate(db);
  prepare_queue_statements(db);
  {
    pqxx::nontransaction tx{db};
    tx.exec("LISTEN postern_queue");
  }

  QueuedMessage m;
  m.id = new_queue_id();
  m.sender = "alice@example.com";
  m.auth_user = "alice";
  m.client_address = "192.0.2.1";
  m.helo = "client.example";
  m.eight_bit_mime = true;
  m.recipients = {"bob@example.org", "carol@example.net"};
  m.message = std::string("Subject: x\r\n\r\nbinary \0 and \xff bytes\r\n", 37);
  enqueue(db, m);

  EXPECT_EQ(db.await_notification(2, 0), 1);
  pqxx::read_transaction tx{db};
  auto row = tx.exec_params1("SELECT sender, auth_user, body_type, message IS NULL, size FROM postern_queue WHERE id = $1", m.id);
  EXPECT_EQ(row[0].as<std::string>(), "alice@example.com");
  EXPECT_EQ(row[1].as<std::string>(), "alice");
  EXPECT_EQ(row[2].as<std::string>(), "8BITMIME");
  EXPECT_TRUE(row[3].as<bool>());  // new code never writes the whole-body column
  EXPECT_EQ(row[4].as<std::size_t>(), m.message.size());
  auto chunk = tx.exec_params1("SELECT data FROM postern_message_chunks WHERE message_id = $1 AND seq = 0", m.id);
  EXPECT_EQ(pqxx::binarystring(chunk[0]).str(), m.message);
  auto rcpts = tx.exec_params("SELECT recipient, status FROM postern_queue_recipients WHERE message_id = $1 ORDER BY position", m.id);
  ASSERT_EQ(rcpts.size(), 2u);
  EXPECT_EQ(rcpts[0][0].as<std::string>(), "bob@example.org");
  EXPECT_EQ(rcpts[1][0].as<std::string>(), "carol@example.net");
  EXPECT_EQ(rcpts[1][1].as<std::string>(), "pending");
}
