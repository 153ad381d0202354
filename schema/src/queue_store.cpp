// The mail queue in PostgreSQL. See queue_store.hpp.
#include "postern/schema/queue_store.hpp"

#include "guarded.hpp"
#include "queue_shares.hpp"
#include "statements.hpp"
#include "webhook_events.hpp"
#include "postern/schema/errors.hpp"
#include "postern/schema/message_chunks.hpp"

#include <sodium.h>

#include <algorithm>

#include <pqxx/pqxx>

namespace postern::schema {
namespace {

// The envelope, its recipients and the message's first chunk in one statement, which also
// notifies the workers (on commit). A message past one chunk stores the rest in the same
// transaction, then its size. Recipients travel LF-joined (the protocol never lets CR or LF into
// an address). $13 is the first chunk's size before sealing; an empty message has no chunk. $15,
// the DKIM body hash, is known here when the message is one chunk; a longer one sets it with its size.
// With webhooks (queue_enqueue_events), kAcceptedEvents adds an "accepted" outbox row per recipient
// and endpoint subscribed in $16 (WebhookSubscriptions::pairs); without, the statement has none
// of it, so mail pays nothing for webhooks it does not have.
constexpr const char* kEnqueueRows = R"sql(
WITH message AS (
  INSERT INTO postern_queue (id, sender, auth_user, client_address, helo, body_type, smtputf8, size, upstream,
                             intake, dsn, seal_key, dkim_body_hash)
  VALUES ($1, $2, NULLIF($3, ''), $4, $5, $6, $7, $13, NULLIF($10, ''), $11, $12, NULLIF($14, ''), NULLIF($15, ''))
  RETURNING id
), recipients AS (
  INSERT INTO postern_queue_recipients (message_id, position, recipient)
  SELECT message.id, r.position, r.recipient
    FROM message, unnest(string_to_array($8, chr(10))) WITH ORDINALITY AS r(recipient, position)
  RETURNING 1
), first_chunk AS (
  INSERT INTO postern_message_chunks (message_id, seq, data)
  SELECT message.id, 0, $9::bytea FROM message WHERE $13 > 0
))sql";

constexpr const char* kAcceptedEvents = R"sql(, events AS (
  INSERT INTO postern_webhook_outbox (endpoint, event, message_id, sender, auth_user, intake, recipient)
  SELECT split_part(s.pair, ':', 1), 'accepted', message.id, $2, NULLIF($3, ''), $11, r.recipient
    FROM message, unnest(string_to_array($8, chr(10))) WITH ORDINALITY AS r(recipient, position),
         unnest(string_to_array($16, ',')) AS s(pair)
   WHERE split_part(s.pair, ':', 2) = 'accepted'
   ORDER BY r.position, s.pair
))sql";

constexpr const char* kEnqueueResult = R"sql(
SELECT pg_notify('postern_queue', (SELECT id FROM message)), (SELECT count(*) FROM recipients)
)sql";

constexpr const char* kSetSize = "UPDATE postern_queue SET size = $2, dkim_body_hash = NULLIF($3, '') WHERE id = $1";

// Leases due messages and returns their envelopes, each with its share seed, its pending
// recipients and, for a message of at most $4 bytes, its one chunk (NULL for a larger or an empty
// one, or one an older replica queued whole). A recipient is a line "position shared address",
// where shared is 1 when its shares are to be read, else 0.
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
 WHERE q.id = due.id AND )sql" POSTERN_NO_FLUSH_WAIT R"sql(
RETURNING q.id, q.sender, q.body_type, q.smtputf8, q.size, q.attempts,
          extract(epoch FROM now() - q.created_at)::bigint, extract(epoch FROM q.created_at)::bigint,
          q.share_seed, q.upstream, q.dsn, q.seal_key, q.dkim_body_hash,
          (SELECT string_agg(r.position || ' ' || (r.share_scheme IS NOT NULL)::integer || ' ' || r.recipient,
                             chr(10) ORDER BY r.position)
             FROM postern_queue_recipients r WHERE r.message_id = q.id AND r.status = 'pending'),
          CASE WHEN q.size <= $4 THEN
            (SELECT c.data FROM postern_message_chunks c WHERE c.message_id = q.id AND c.seq = 0)
          END
)sql";

// An attempt that settled every recipient it was given and queues no DSN: the message goes in one
// statement, if it is still this owner's and no other recipient is pending. Its recipients,
// chunks and shares go with it (ON DELETE CASCADE).
constexpr const char* kDeleteSettled = R"sql(
DELETE FROM postern_queue
 WHERE id = $1 AND lease_owner = $2
   AND NOT EXISTS (SELECT 1 FROM postern_queue_recipients
                    WHERE message_id = $1 AND status = 'pending' AND position <> ALL ($3::integer[]))
   AND )sql" POSTERN_NO_FLUSH_WAIT;

// The same with the attempt's webhook events ($4..$8, attempt_events_insert), which read its
// recipients as they were before the delete; returns 1 when the message went.
const std::string kDeleteSettledWithEvents = std::string("WITH deleted AS (") + kDeleteSettled +
                                             " RETURNING id, sender, auth_user, intake), events AS (" +
                                             attempt_events_insert("deleted", 4) + ") SELECT count(*) FROM deleted";

constexpr const char* kUpdateRecipient = R"sql(
UPDATE postern_queue_recipients
   SET status = $3, attempts = attempts + 1, last_reply = $4, updated_at = now()
 WHERE message_id = $1 AND position = $2
)sql";

// The lease check: a replica whose lease expired must not overwrite the new owner's work.
constexpr const char* kLockOwned = R"sql(
SELECT 1 FROM postern_queue WHERE id = $1 AND lease_owner = $2 AND )sql" POSTERN_NO_FLUSH_WAIT R"sql( FOR UPDATE
)sql";

// $2: keep a message whose recipients failed (AttemptRecord::keep_failed).
constexpr const char* kFinishIfDone = R"sql(
DELETE FROM postern_queue
 WHERE id = $1
   AND NOT EXISTS (SELECT 1 FROM postern_queue_recipients WHERE message_id = $1 AND status = 'pending')
   AND NOT ($2 AND EXISTS (SELECT 1 FROM postern_queue_recipients WHERE message_id = $1 AND status = 'failed'))
)sql";

constexpr const char* kRelease = R"sql(
UPDATE postern_queue
   SET lease_owner = NULL, lease_until = NULL,
       next_attempt_at = now() + make_interval(secs => $2), last_error = NULLIF($3, '')
 WHERE id = $1
)sql";

constexpr const char* kRenewLease = R"sql(
UPDATE postern_queue SET lease_until = now() + make_interval(secs => $3)
 WHERE id = $1 AND lease_owner = $2 AND )sql" POSTERN_NO_FLUSH_WAIT;

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

// A message's bytes as the queue takes them: the first chunk read ahead (it travels with the
// envelope), sealed when the message is, then the rest of the source.
class Body {
 public:
  explicit Body(const QueuedMessage& message)
      : stream_(message.content ? message.content : text_source(message.message)) {
    stream_.next(first_);
    one_chunk_ = stream_.last();
    if (message.seal && !first_.empty()) stored_first_ = seal_chunk(*message.seal, message.id, 0, one_chunk_, first_);
  }
  Body(const Body&) = delete;
  Body& operator=(const Body&) = delete;

  // Chunk 0 as stored (sealed or not), and its size before sealing.
  const std::string& stored_first() const { return stored_first_.empty() ? first_ : stored_first_; }
  std::size_t first_size() const { return first_.size(); }
  ChunkStream& rest() { return stream_; }
  bool one_chunk() const { return one_chunk_; }

 private:
  ChunkStream stream_;
  std::string first_;
  std::string stored_first_;  // chunk 0 sealed; empty when the message is not sealed
  bool one_chunk_ = true;
};

// The body hash, once the content is all read; empty when there is none.
std::string dkim_body_hash(const QueuedMessage& message) {
  return message.dkim_body_hash ? message.dkim_body_hash() : std::string();
}

// The envelope, the recipients and the first chunk, in one statement.
void insert_envelope(pqxx::transaction_base& tx, const QueuedMessage& message, const Body& body) {
  const std::string& first = body.stored_first();
  const auto enqueue = [&](const char* statement, const auto&... events) {
    return tx.exec_prepared(statement, message.id, message.sender, message.auth_user, message.client_address,
                            message.helo, message.eight_bit_mime ? "8BITMIME" : "7BIT", message.smtputf8,
                            join_recipients(message.recipients), pqxx::binarystring(first.data(), first.size()),
                            message.upstream, message.intake, message.dsn, static_cast<long long>(body.first_size()),
                            message.seal ? message.seal->id : std::string(),
                            body.one_chunk() ? dkim_body_hash(message) : std::string(), events...);
  };
  const pqxx::result rows = message.webhooks.empty()
                                ? enqueue("queue_enqueue")
                                : enqueue("queue_enqueue_events", message.webhooks.pairs());
  if (rows.empty() || rows[0][1].as<std::size_t>() != message.recipients.size()) {
    throw DatabaseUnavailable("queue insert stored an unexpected number of recipients");
  }
}

// All of the message inside the caller's transaction: the envelope with the first chunk, the
// other chunks and then the size they make together, the shares.
void insert_message(pqxx::transaction_base& tx, const QueuedMessage& message, Body& body) {
  insert_envelope(tx, message, body);
  if (!body.one_chunk()) {
    const SealKey* seal = message.seal ? &*message.seal : nullptr;
    const std::uint64_t more = store_chunks(tx, message.id, body.rest(), 1, seal);
    tx.exec_prepared("queue_set_size", message.id, static_cast<long long>(body.first_size() + more),
                     dkim_body_hash(message));
  }
  insert_shares(tx, message);
}

// A sealed message's body (when it came with the claim) and share seed, opened; when one does
// not open, both are dropped and seal_error says why (its delivery defers with it).
void open_claimed(ClaimedMessage& message, const SealKeys& keys) {
  try {
    if (message.body) {
      message.body = std::make_shared<const std::string>(open_chunk(keys, message.id, 0, true, *message.body));
    }
    if (!message.share_seed.empty()) message.share_seed = open_field(keys, message.id, kShareSeedField, message.share_seed);
  } catch (const std::exception& e) {
    message.body = nullptr;
    message.share_seed.clear();
    message.seal_error = e.what();
  }
}

// Each pending recipient line of a claim: "position shared address" (kClaim).
void add_claimed_recipients(ClaimedMessage& message, const std::string& lines, std::vector<int>& shared) {
  std::size_t start = 0;
  while (start < lines.size()) {
    std::size_t end = lines.find('\n', start);
    if (end == std::string::npos) end = lines.size();
    const std::size_t space = lines.find(' ', start);
    const int position = std::stoi(lines.substr(start, space - start));
    if (lines[space + 1] == '1') shared.push_back(position);
    message.recipients.push_back({position, lines.substr(space + 3, end - space - 3), std::nullopt});
    start = end + 1;
  }
}

// An attempt that the one statement of kDeleteSettled records: every recipient settled, no
// share and no DSN to write, and no failure that keeps the message.
bool settles_everything(const AttemptRecord& record) {
  return !record.bounce && record.shares.empty() &&
         std::none_of(record.recipients.begin(), record.recipients.end(), [&](const RecipientUpdate& r) {
           return r.outcome == RecipientOutcome::Deferred ||
                  (record.keep_failed && r.outcome == RecipientOutcome::Failed);
         });
}

// The events of an attempt's plain recipients.
AttemptEvents recipient_events(const AttemptRecord& record) {
  AttemptEvents events;
  if (record.webhooks.empty()) return events;
  for (const auto& r : record.recipients) events.add(r.position, 0, event_of(r.outcome, r.expired), r.reply);
  return events;
}

// The events of its shares: each deferred one, then each recipient its shares settled.
void add_share_events(const AttemptRecord& record, const std::vector<SettledRecipient>& settled,
                      AttemptEvents& events) {
  if (record.webhooks.empty()) return;
  for (const auto& share : record.shares) {
    if (share.outcome == RecipientOutcome::Deferred) {
      events.add(share.position, share.index, WebhookEventType::Deferred, share.reply);
    }
  }
  for (const auto& recipient : settled) {
    const ShareUpdate* last = nullptr;
    bool expired = false;
    for (const auto& share : record.shares) {
      if (share.position != recipient.position) continue;
      last = &share;
      expired = expired || (share.outcome == RecipientOutcome::Failed && share.expired);
    }
    events.add(recipient.position, 0, event_of(recipient.outcome, expired), last ? last->reply : std::string());
  }
}

// kDeleteSettled, with the attempt's events when it has subscriptions; true when the message went.
bool delete_settled(pqxx::transaction_base& tx, const AttemptRecord& record, const AttemptEvents& events) {
  std::vector<int> positions;
  for (const auto& r : record.recipients) positions.push_back(r.position);
  if (record.webhooks.empty()) {
    return tx.exec_prepared("queue_delete_settled", record.message_id, record.owner, array_literal(positions))
               .affected_rows() == 1;
  }
  return tx.exec_prepared1("queue_delete_settled_events", record.message_id, record.owner, array_literal(positions),
                           array_literal(events.positions), array_literal(events.shares),
                           array_literal(events.events), array_literal(events.replies), record.webhooks.pairs())[0]
             .as<long>() == 1;
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
  db.prepare("queue_enqueue", std::string(kEnqueueRows) + kEnqueueResult);
  db.prepare("queue_enqueue_events", std::string(kEnqueueRows) + kAcceptedEvents + kEnqueueResult);
  db.prepare("queue_set_size", kSetSize);
  db.prepare("queue_claim", kClaim);
  db.prepare("queue_delete_settled", kDeleteSettled);
  db.prepare("queue_delete_settled_events", kDeleteSettledWithEvents);
  prepare_webhook_statements(db);
  db.prepare("queue_update_recipient", kUpdateRecipient);
  db.prepare("queue_lock_owned", kLockOwned);
  db.prepare("queue_finish_if_done", kFinishIfDone);
  db.prepare("queue_release", kRelease);
  db.prepare("queue_next_due", kNextDue);
  db.prepare("queue_renew_lease", kRenewLease);
  db.prepare("queue_release_earlier_boots", kReleaseEarlierBoots);
  // Claims by connections without this setting skip sealed messages: they are replicas older
  // than migration 13, which would deliver the ciphertext (migrations/0013).
  db.set_variable("postern.opens_seals", "on");
}

void enqueue(pqxx::connection_base& db, const QueuedMessage& message) {
  guarded([&] {
    Body body{message};
    if (body.one_chunk() && message.shared.empty()) {
      // A lone statement is its own transaction, committed (and flushed) before it returns.
      pqxx::nontransaction tx{db};
      insert_envelope(tx, message, body);
      return;
    }
    pqxx::work tx{db};
    insert_message(tx, message, body);
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
                                      int lease_seconds, const SealKeys& keys) {
  return guarded([&] {
    std::vector<ClaimedMessage> claimed;
    std::vector<std::vector<int>> shared;  // per message: the positions of its shared recipients
    {
      pqxx::nontransaction tx{db};
      const auto rows =
          tx.exec_prepared("queue_claim", owner, limit, lease_seconds, static_cast<long long>(kClaimedBodyLimit));
      for (const auto& row : rows) {
        ClaimedMessage m;
        m.id = row[0].as<std::string>();
        m.sender = row[1].as<std::string>();
        m.eight_bit_mime = row[2].as<std::string>() == "8BITMIME";
        m.smtputf8 = row[3].as<bool>();
        m.size = row[4].as<std::uint64_t>();
        m.attempts = row[5].as<int>();
        m.age_seconds = row[6].as<long long>();
        m.arrival_time = row[7].as<long long>();
        if (!row[8].is_null()) m.share_seed = pqxx::binarystring(row[8]).str();
        if (!row[9].is_null()) m.upstream = row[9].as<std::string>();
        m.dsn = row[10].as<bool>();
        if (!row[11].is_null()) m.seal_key = row[11].as<std::string>();
        if (!row[12].is_null()) m.dkim_body_hash = row[12].as<std::string>();
        add_claimed_recipients(m, row[13].is_null() ? std::string() : row[13].as<std::string>(), shared.emplace_back());
        if (!row[14].is_null()) m.body = std::make_shared<const std::string>(pqxx::binarystring(row[14]).str());
        if (!m.seal_key.empty()) open_claimed(m, keys);
        claimed.push_back(std::move(m));
      }
    }
    if (std::all_of(shared.begin(), shared.end(), [](const auto& positions) { return positions.empty(); })) {
      return claimed;
    }
    // The shares of the messages that have shared recipients, read once they are leased to us.
    // Should this fail, those messages wait for their leases to run out.
    pqxx::read_transaction tx{db};
    for (std::size_t i = 0; i < claimed.size(); ++i) {
      if (!shared[i].empty()) read_shares(tx, claimed[i], shared[i]);
    }
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
    // The usual attempt is one statement. When that deletes nothing (the lease was lost, or
    // another recipient is pending), the transaction below tells which.
    AttemptEvents events = recipient_events(record);
    if (settles_everything(record)) {
      pqxx::nontransaction tx{db};
      if (delete_settled(tx, record, events)) return true;
    }
    pqxx::work tx{db};
    if (tx.exec_prepared("queue_lock_owned", record.message_id, record.owner).empty()) return false;
    for (const auto& r : record.recipients) {
      tx.exec_prepared("queue_update_recipient", record.message_id, r.position, status_name(r.outcome), r.reply);
    }
    add_share_events(record, record_shares(tx, record), events);
    insert_attempt_events(tx, record.message_id, events, record.webhooks);
    if (record.bounce) {
      Body bounce_body{*record.bounce};
      insert_message(tx, *record.bounce, bounce_body);
    }
    if (tx.exec_prepared("queue_finish_if_done", record.message_id, record.keep_failed).affected_rows() == 0) {
      tx.exec_prepared("queue_release", record.message_id, record.retry_after_seconds, record.last_error);
    }
    tx.commit();
    return true;
  });
}

std::optional<double> seconds_until_next_due(pqxx::connection_base& db) {
  return guarded([&]() -> std::optional<double> {
    pqxx::nontransaction tx{db};
    auto rows = tx.exec_prepared("queue_next_due");
    if (rows.empty() || rows[0][0].is_null()) return std::nullopt;
    return std::max(0.0, rows[0][0].as<double>());
  });
}

}  // namespace postern::schema
