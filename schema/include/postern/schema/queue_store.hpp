// The mail queue in PostgreSQL. `enqueue` stores one accepted message with all its recipients
// in a single statement (so a crash leaves all or nothing) and notifies delivery workers on
// commit; the caller replies 250 only after it returns.
#pragma once

#include <string>
#include <vector>

namespace pqxx { class connection_base; }

namespace postern::schema {

struct QueuedMessage {
  std::string id;
  std::string sender;
  std::string auth_user;
  std::string client_address;
  std::string helo;
  bool eight_bit_mime = false;
  bool smtputf8 = false;
  std::vector<std::string> recipients;
  std::string message;  // the final bytes: added headers + the client's message
};

// The LISTEN/NOTIFY channel that wakes delivery workers.
inline constexpr const char* kQueueChannel = "postern_queue";

// A fresh queue id: 20 characters of Crockford base32 from 12 random bytes.
std::string new_queue_id();

// Prepares the queue's statements on a connection (once per connection).
void prepare_queue_statements(pqxx::connection_base& db);

// Stores the message durably (synchronous commit) or throws DatabaseUnavailable.
void enqueue(pqxx::connection_base& db, const QueuedMessage& message);

}  // namespace postern::schema
