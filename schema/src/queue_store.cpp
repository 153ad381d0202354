// The mail queue in PostgreSQL. See queue_store.hpp.
#include "postern/schema/queue_store.hpp"

#include "guarded.hpp"
#include "queue_shares.hpp"
#include "postern/schema/errors.hpp"
#include "postern/schema/message_chunks.hpp"

#include <sodium.h>

#include <algorithm>

#include <pqxx/pqxx>

namespace postern::schema {
namespace {

// The envelope: one statement inserts the message row and its recipients and notifies the
// workers (on commit). The body follows as chunks in the same transaction, then its size.
// Recipients travel LF-joined (the protocol never lets CR or LF into an address).
constexpr const char* kEnqueue = R"sql(
WITH message AS (
  INSERT INTO postern_queue (id, sender, auth_user, client_address, helo, body_type, smtputf8, size)
  VALUES ($1, $2, $3, $4, $5, $6, $7, 0)
  RETURNING id
), recipients AS (
  INSERT INTO postern_queue_recipients (message_id, position, recipient)
  SELECT message.id, r.position, r.recipient
    FROM message, unnest(string_to_array($8, chr(10))) WITH ORDINALITY AS r(recipient, position)
  RETURNING 1
)
SELECT pg_notify('postern_queue', (SELECT id FROM message)), (SELECT count(*) FROM recipients)
)sql";

constexpr const char* kSetSize = "UPDATE postern_queue SET size = $2 WHERE id = $1";

constexpr const char* kClaim = R"sql(
WITH due AS (
  SELECT id FROM postern_queue
   WHERE NOT held AND next_attempt_at <= now()
     AND (lease_until IS NULL OR lease_until < now())
   ORDER BY next_attempt_at
   LIMIT $2
   FOR UPDATE SKIP LOCKED
)
UPDATE postern_queue q
   SET lease_owner = $1, lease_until = now() + make_interval(secs => $3), attempts = q.attempts + 1
  FROM due
 WHERE q.id = due.id
RETURNING q.id, q.sender, q.body_type, q.smtputf8, q.size, q.attempts,
          extract(epoch FROM now() - q.created_at)::bigint, extract(epoch FROM q.created_at)::bigint
)sql";

constexpr const char* kClaimedRecipients = R"sql(
SELECT position, recipient FROM postern_queue_recipients
 WHERE message_id = $1 AND status = 'pending' ORDER BY position
)sql";

constexpr const char* kUpdateRecipient = R"sql(
UPDATE postern_queue_recipients
   SET status = $3, attempts = attempts + 1, last_reply = $4, updated_at = now()
 WHERE message_id = $1 AND position = $2
)sql";

// The lease check: a replica whose lease expired must not overwrite the new owner's work.
constexpr const char* kLockOwned = R"sql(
SELECT 1 FROM postern_queue WHERE id = $1 AND lease_owner = $2 FOR UPDATE
)sql";

constexpr const char* kFinishIfDone = R"sql(
DELETE FROM postern_queue
 WHERE id = $1
   AND NOT EXISTS (SELECT 1 FROM postern_queue_recipients WHERE message_id = $1 AND status = 'pending')
)sql";

constexpr const char* kRelease = R"sql(
UPDATE postern_queue
   SET lease_owner = NULL, lease_until = NULL,
       next_attempt_at = now() + make_interval(secs => $2), last_error = NULLIF($3, '')
 WHERE id = $1
)sql";

constexpr const char* kRenewLease = R"sql(
UPDATE postern_queue SET lease_until = now() + make_interval(secs => $3)
 WHERE id = $1 AND lease_owner = $2
)sql";

// A dead boot's claims: lease cleared, due now (a claimed message was already due). The prefix
// match is exact (no LIKE patterns: identities may hold '_').
constexpr const char* kReleaseEarlierBoots = R"sql(
WITH released AS (
  UPDATE postern_queue
     SET lease_owner = NULL, lease_until = NULL, next_attempt_at = LEAST(next_attempt_at, now())
   WHERE starts_with(lease_owner, $1::text || '/') AND lease_owner <> $2
  RETURNING 1
)
SELECT count(*) FROM released
)sql";

constexpr const char* kNextDue = R"sql(
SELECT extract(epoch FROM min(GREATEST(next_attempt_at, COALESCE(lease_until, next_attempt_at))) - now())
  FROM postern_queue WHERE NOT held
)sql";

std::string join_recipients(const std::vector<std::string>& recipients) {
  std::string joined;
  for (const auto& r : recipients) {
    if (!joined.empty()) joined.push_back('\n');
    joined += r;
  }
  return joined;
}

// Reads `text` from the start: the ChunkSource of a message given whole (a DSN).
ChunkSource text_source(const std::string& text) {
  return [&text, offset = std::size_t{0}](char* data, std::size_t size) mutable {
    const std::size_t n = text.copy(data, size, offset);
    offset += n;
    return n;
  };
}

// The envelope, the recipients and the body chunks, inside the caller's transaction.
void insert_message(pqxx::transaction_base& tx, const QueuedMessage& message) {
  auto rows = tx.exec_prepared("queue_enqueue", message.id, message.sender, message.auth_user,
                               message.client_address, message.helo, message.eight_bit_mime ? "8BITMIME" : "7BIT",
                               message.smtputf8, join_recipients(message.recipients));
  if (rows.empty() || rows[0][1].as<std::size_t>() != message.recipients.size()) {
    throw DatabaseUnavailable("queue insert stored an unexpected number of recipients");
  }
  const std::uint64_t size = message.content ? store_chunks(tx, message.id, message.content)
                                             : store_chunks(tx, message.id, text_source(message.message));
  tx.exec_prepared("queue_set_size", message.id, static_cast<long long>(size));
  insert_shares(tx, message);
}

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

void prepare_queue_statements(pqxx::connection_base& db) {
  prepare_chunk_statements(db);
  prepare_share_statements(db);
  db.prepare("queue_enqueue", kEnqueue);
  db.prepare("queue_set_size", kSetSize);
  db.prepare("queue_claim", kClaim);
  db.prepare("queue_claimed_recipients", kClaimedRecipients);
  db.prepare("queue_update_recipient", kUpdateRecipient);
  db.prepare("queue_lock_owned", kLockOwned);
  db.prepare("queue_finish_if_done", kFinishIfDone);
  db.prepare("queue_release", kRelease);
  db.prepare("queue_next_due", kNextDue);
  db.prepare("queue_renew_lease", kRenewLease);
  db.prepare("queue_release_earlier_boots", kReleaseEarlierBoots);
}

void enqueue(pqxx::connection_base& db, const QueuedMessage& message) {
  guarded([&] {
    pqxx::work tx{db};
    insert_message(tx, message);
    tx.commit();
  });
}

long release_earlier_boots(pqxx::connection_base& db, const LeaseOwner& owner) {
  return guarded([&] {
    pqxx::nontransaction tx{db};
    return tx.exec_prepared1("queue_release_earlier_boots", owner.identity, owner.text())[0].as<long>();
  });
}

std::vector<ClaimedMessage> claim_due(pqxx::connection_base& db, const std::string& owner, int limit,
                                      int lease_seconds) {
  return guarded([&] {
    pqxx::work tx{db};
    std::vector<ClaimedMessage> claimed;
    for (const auto& row : tx.exec_prepared("queue_claim", owner, limit, lease_seconds)) {
      ClaimedMessage m;
      m.id = row[0].as<std::string>();
      m.sender = row[1].as<std::string>();
      m.eight_bit_mime = row[2].as<std::string>() == "8BITMIME";
      m.smtputf8 = row[3].as<bool>();
      m.size = row[4].as<std::uint64_t>();
      m.attempts = row[5].as<int>();
      m.age_seconds = row[6].as<long long>();
      m.arrival_time = row[7].as<long long>();
      claimed.push_back(std::move(m));
    }
    for (auto& m : claimed) {
      for (const auto& r : tx.exec_prepared("queue_claimed_recipients", m.id)) {
        m.recipients.push_back({r[0].as<int>(), r[1].as<std::string>(), std::nullopt});
      }
      read_shares(tx, m);
    }
    tx.commit();
    return claimed;
  });
}

bool renew_lease(pqxx::connection_base& db, const std::string& message_id, const std::string& owner,
                 int lease_seconds) {
  return guarded([&] {
    pqxx::nontransaction tx{db};
    return tx.exec_prepared("queue_renew_lease", message_id, owner, lease_seconds).affected_rows() == 1;
  });
}

bool record_attempt(pqxx::connection_base& db, const AttemptRecord& record) {
  return guarded([&] {
    pqxx::work tx{db};
    if (tx.exec_prepared("queue_lock_owned", record.message_id, record.owner).empty()) return false;
    for (const auto& r : record.recipients) {
      tx.exec_prepared("queue_update_recipient", record.message_id, r.position, status_name(r.outcome), r.reply);
    }
    record_shares(tx, record);
    if (record.bounce) insert_message(tx, *record.bounce);
    if (tx.exec_prepared("queue_finish_if_done", record.message_id).affected_rows() == 0) {
      tx.exec_prepared("queue_release", record.message_id, record.retry_after_seconds, record.last_error);
    }
    tx.commit();
    return true;
  });
}

std::optional<double> seconds_until_next_due(pqxx::connection_base& db) {
  return guarded([&]() -> std::optional<double> {
    pqxx::read_transaction tx{db};
    auto rows = tx.exec_prepared("queue_next_due");
    if (rows.empty() || rows[0][0].is_null()) return std::nullopt;
    return std::max(0.0, rows[0][0].as<double>());
  });
}

}  // namespace postern::schema
