// The mail queue in PostgreSQL. See queue_store.hpp.
#include "postern/schema/queue_store.hpp"

#include "postern/schema/errors.hpp"

#include <sodium.h>

#include <pqxx/pqxx>

namespace postern::schema {
namespace {

// One autocommit statement inserts the message and its recipients and notifies the workers:
// one round trip, atomic, durable when it returns. Recipients travel LF-joined (the protocol
// never lets CR or LF into an address).
constexpr const char* kEnqueue = R"sql(
WITH message AS (
  INSERT INTO postern_queue
    (id, sender, auth_user, client_address, helo, body_type, smtputf8, message, size)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
  RETURNING id
), recipients AS (
  INSERT INTO postern_queue_recipients (message_id, position, recipient)
  SELECT message.id, r.position, r.recipient
    FROM message, unnest(string_to_array($10, chr(10))) WITH ORDINALITY AS r(recipient, position)
  RETURNING 1
)
SELECT pg_notify('postern_queue', (SELECT id FROM message)), (SELECT count(*) FROM recipients)
)sql";

}  // namespace

std::string new_queue_id() {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  unsigned char random[12];
  randombytes_buf(random, sizeof random);
  std::string id;
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char byte : random) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      id.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) id.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  return id;
}

void prepare_queue_statements(pqxx::connection_base& db) { db.prepare("queue_enqueue", kEnqueue); }

void enqueue(pqxx::connection_base& db, const QueuedMessage& message) {
  std::string recipients;
  for (const auto& r : message.recipients) {
    if (!recipients.empty()) recipients.push_back('\n');
    recipients += r;
  }
  try {
    pqxx::nontransaction tx{db};
    auto rows = tx.exec_prepared(
        "queue_enqueue", message.id, message.sender, message.auth_user, message.client_address,
        message.helo, message.eight_bit_mime ? "8BITMIME" : "7BIT", message.smtputf8,
        pqxx::binarystring(message.message.data(), message.message.size()),
        static_cast<long>(message.message.size()), recipients);
    if (rows.empty() || rows[0][1].as<std::size_t>() != message.recipients.size()) {
      throw DatabaseUnavailable("queue insert stored an unexpected number of recipients");
    }
  } catch (const pqxx::broken_connection& e) {
    throw DatabaseUnavailable(std::string("database unreachable: ") + e.what());
  } catch (const pqxx::in_doubt_error& e) {
    throw DatabaseUnavailable(std::string("database connection lost during commit: ") + e.what());
  }
}

}  // namespace postern::schema
