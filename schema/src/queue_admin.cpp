// Queue administration. See queue_admin.hpp.
#include "postern/schema/queue_admin.hpp"

#include "guarded.hpp"
#include "audit.hpp"
#include "postern/schema/errors.hpp"
#include "postern/schema/message_chunks.hpp"
#include "postern/schema/queue_store.hpp"
#include "postern/schema/seal.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <map>
#include <ostream>
#include <string_view>
#include <utility>

namespace postern::schema {
namespace {

// Timestamps travel as text in one format, UTC.
#define POSTERN_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"

// The columns of a QueueEntry, in the order entry_from() reads them.
#define POSTERN_ENTRY_COLUMNS                                                           \
  "q.id, " POSTERN_TS("q.created_at") ", "                                              \
  "floor(extract(epoch FROM now() - q.created_at))::bigint, q.sender, q.attempts, "     \
  POSTERN_TS("q.next_attempt_at") ", "                                                  \
  "ceil(extract(epoch FROM q.next_attempt_at - now()))::bigint, q.held, "               \
  "(q.lease_owner IS NOT NULL AND q.lease_until > now()), COALESCE(q.last_error, ''), "    \
  "COALESCE(q.auth_user, '')"
constexpr int kEntryColumns = 11;

constexpr const char* kList =
    "SELECT " POSTERN_ENTRY_COLUMNS " FROM postern_queue q ORDER BY q.created_at, q.id";

constexpr const char* kAllRecipients =
    "SELECT message_id, recipient, status, attempts, COALESCE(last_reply, ''), "
    POSTERN_TS("updated_at") " FROM postern_queue_recipients ORDER BY message_id, position";

constexpr const char* kRecipientsOf =
    "SELECT message_id, recipient, status, attempts, COALESCE(last_reply, ''), "
    POSTERN_TS("updated_at") " FROM postern_queue_recipients WHERE message_id = $1 ORDER BY position";

constexpr const char* kDestinationsOf =
    "SELECT d.position, d.share_index, d.mailbox, d.upstream, d.status, d.attempts, COALESCE(d.last_reply, ''), "
    "       r.share_scheme = 'copy' "
    "FROM postern_queue_destinations d JOIN postern_queue_recipients r USING (message_id, position) "
    "WHERE d.message_id = $1 ORDER BY d.position, d.share_index";

// $2: how many bytes of the message to read (the header section is within them, or cut): the
// start of its first chunk, or of a body an older replica queued whole (migrations/0005). A
// sealed chunk comes whole: it opens only whole.
constexpr const char* kShow =
    "SELECT " POSTERN_ENTRY_COLUMNS ", q.client_address, q.helo, q.body_type, "
    "q.smtputf8, q.size, COALESCE(q.lease_owner, ''), COALESCE(" POSTERN_TS("q.lease_until") ", ''), "
    "COALESCE(q.upstream, ''), q.intake, q.dsn, "
    "COALESCE((SELECT CASE WHEN q.seal_key IS NULL THEN substring(c.data FROM 1 FOR $2) ELSE c.data END "
    "            FROM postern_message_chunks c WHERE c.message_id = q.id AND c.seq = 0), "
    "         postern_legacy_message_slice(q.id, 0, $2), ''::bytea), q.size, COALESCE(q.seal_key, '') "
    "FROM postern_queue q WHERE q.id = $1";

#undef POSTERN_ENTRY_COLUMNS
#undef POSTERN_TS

// The notifications are sent when the transaction commits, so workers see the change.
constexpr const char* kRetry =
    "WITH due AS (UPDATE postern_queue SET next_attempt_at = now() WHERE id = $1 RETURNING id) "
    "SELECT pg_notify($2, id) FROM due";

constexpr const char* kRetryAll =
    "WITH due AS (UPDATE postern_queue SET next_attempt_at = now() WHERE NOT held RETURNING 1) "
    "SELECT count(*) FROM due";

constexpr const char* kNotify = "SELECT pg_notify($1, $2)";

constexpr const char* kHold =
    "UPDATE postern_queue SET held = true WHERE id = $1 AND NOT held RETURNING id";

constexpr const char* kRelease =
    "WITH released AS (UPDATE postern_queue SET held = false, next_attempt_at = now() "
    "WHERE id = $1 AND held RETURNING id) "
    "SELECT pg_notify($2, id) FROM released";

constexpr const char* kExists = "SELECT size, COALESCE(seal_key, '') FROM postern_queue WHERE id = $1";

// RETURNING sees the recipients as they were before the cascade removes them.
constexpr const char* kDelete =
    "DELETE FROM postern_queue q WHERE q.id = $1 RETURNING q.sender, "
    "(SELECT count(*) FROM postern_queue_recipients r WHERE r.message_id = q.id), "
    "(SELECT count(*) FROM postern_queue_recipients r "
    "  WHERE r.message_id = q.id AND r.status = 'pending')";

// One consistent picture of the queue and its recipients across the statements that read it.
using Snapshot = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

[[noreturn]] void not_found(const std::string& id) {
  throw NotFound("queued message " + id + " does not exist");
}

QueueEntry entry_from(const pqxx::row& row) {
  QueueEntry e;
  e.id = row[0].as<std::string>();
  e.created_at = row[1].as<std::string>();
  e.age_seconds = row[2].as<long long>();
  e.sender = row[3].as<std::string>();
  e.attempts = row[4].as<int>();
  e.next_attempt_at = row[5].as<std::string>();
  e.next_attempt_in_seconds = row[6].as<long long>();
  e.held = row[7].as<bool>();
  e.leased = row[8].as<bool>();
  e.last_error = row[9].as<std::string>();
  e.auth_user = row[10].as<std::string>();
  return e;
}

QueueRecipient recipient_from(const pqxx::row& row) {
  return {row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<int>(),
          row[4].as<std::string>(), row[5].as<std::string>(), {}};
}

void add_recipient(QueueEntry& e, QueueRecipient r) {
  if (r.status == "pending") ++e.recipients_pending;
  e.recipients.push_back(std::move(r));
}

// Where the header section ends: the offset of the empty line (CRLF or bare LF) that ends it,
// or npos when `text` holds no empty line.
std::size_t header_section_end(std::string_view text) {
  std::size_t line = 0;
  while (line < text.size()) {
    if (text[line] == '\n') return line;
    if (text[line] == '\r' && line + 1 < text.size() && text[line + 1] == '\n') return line;
    const std::size_t end = text.find('\n', line);
    if (end == std::string_view::npos) return std::string_view::npos;
    line = end + 1;
  }
  return std::string_view::npos;
}

std::size_t count(const pqxx::result& rows) { return rows.size(); }

}  // namespace

std::vector<QueueEntry> list_queue(pqxx::connection_base& db) {
  return guarded([&] {
    Snapshot tx{db};
    std::vector<QueueEntry> entries;
    std::map<std::string, std::size_t> index;
    for (const auto& row : tx.exec(kList)) {
      entries.push_back(entry_from(row));
      index.emplace(entries.back().id, entries.size() - 1);
    }
    for (const auto& row : tx.exec(kAllRecipients)) {
      auto found = index.find(row[0].as<std::string>());
      if (found != index.end()) add_recipient(entries[found->second], recipient_from(row));
    }
    tx.commit();
    return entries;
  });
}

std::optional<QueuedMessageDetails> show_queued(pqxx::connection_base& db, const std::string& id,
                                               const SealKeys& keys) {
  return guarded([&]() -> std::optional<QueuedMessageDetails> {
    Snapshot tx{db};
    auto rows = tx.exec_params(kShow, id, static_cast<int>(kQueueHeaderLimit));
    if (rows.empty()) return std::nullopt;
    const auto& row = rows[0];
    QueuedMessageDetails d;
    d.entry = entry_from(row);
    int c = kEntryColumns;
    d.auth_user = d.entry.auth_user;
    d.client_address = row[c++].as<std::string>();
    d.helo = row[c++].as<std::string>();
    d.body_type = row[c++].as<std::string>();
    d.smtputf8 = row[c++].as<bool>();
    d.size = row[c++].as<long long>();
    d.lease_owner = row[c++].as<std::string>();
    d.lease_until = row[c++].as<std::string>();
    d.upstream = row[c++].as<std::string>();
    d.intake = row[c++].as<std::string>();
    d.dsn = row[c++].as<bool>();
    std::string start = pqxx::binarystring(row[c++]).str();
    const auto stored = row[c++].as<long long>();
    d.seal_key = row[c++].as<std::string>();
    if (!d.seal_key.empty() && !start.empty()) {
      try {
        start = open_chunk(keys, id, 0, last_chunk_seq(static_cast<std::uint64_t>(stored)) == 0, start);
        start.resize(std::min(start.size(), kQueueHeaderLimit));
      } catch (const std::exception& e) {
        d.seal_problem = e.what();
        start.clear();
      }
    }
    if (!d.entry.leased) {  // an expired lease is history, not state
      d.lease_owner.clear();
      d.lease_until.clear();
    }
    const std::size_t end = header_section_end(start);
    if (end != std::string_view::npos) {
      d.headers = start.substr(0, end);
    } else if (d.seal_problem.empty()) {
      d.headers = start;
      d.headers_truncated = stored > static_cast<long long>(start.size());
    }
    for (const auto& r : tx.exec_params(kRecipientsOf, id)) add_recipient(d.entry, recipient_from(r));
    for (const auto& r : tx.exec_params(kDestinationsOf, id)) {
      const auto position = r[0].as<std::size_t>();  // 1-based, as the recipients are listed
      if (position == 0 || position > d.entry.recipients.size()) continue;
      d.entry.recipients[position - 1].destinations.push_back(
          {r[1].as<int>(), r[7].as<bool>(), r[2].as<std::string>(), r[3].as<std::string>(), r[4].as<std::string>(),
           r[5].as<int>(), r[6].as<std::string>()});
    }
    tx.commit();
    return d;
  });
}

void write_queued_message(pqxx::connection_base& db, const std::string& id, std::ostream& out, const SealKeys& keys) {
  prepare_chunk_statements(db);
  guarded([&] {
    Snapshot tx{db};  // every chunk from one picture, even if delivery finishes meanwhile
    const auto message = tx.exec_params(kExists, id);
    if (message.empty()) not_found(id);
    const auto last = last_chunk_seq(message[0][0].as<std::uint64_t>());
    const auto seal_key = message[0][1].as<std::string>();
    for (int seq = 0;; ++seq) {
      const auto rows = tx.exec_prepared("chunk_read", id, seq, static_cast<int>(kChunkSize));
      if (rows.empty() || rows[0][0].is_null()) break;
      std::string chunk = pqxx::binarystring(rows[0][0]).str();
      if (!seal_key.empty()) chunk = open_chunk(keys, id, seq, seq == last, chunk);
      out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    }
    tx.commit();
  });
}

std::size_t retry(pqxx::connection_base& db, const std::string& id, const std::string& actor) {
  return guarded([&] {
    pqxx::work tx{db};
    const std::size_t n = count(tx.exec_params(kRetry, id, std::string(kQueueChannel)));
    if (n == 0) not_found(id);
    record_audit(tx, actor, "queue retry", id);
    tx.commit();
    return n;
  });
}

std::size_t retry_all(pqxx::connection_base& db, const std::string& actor) {
  return guarded([&] {
    pqxx::work tx{db};
    const auto n = tx.exec(kRetryAll)[0][0].as<std::size_t>();
    if (n > 0) tx.exec_params(kNotify, std::string(kQueueChannel), std::string());
    record_audit(tx, actor, "queue retry", "--all",
                 std::to_string(n) + (n == 1 ? " message" : " messages"));
    tx.commit();
    return n;
  });
}

bool hold(pqxx::connection_base& db, const std::string& id, const std::string& actor) {
  return guarded([&] {
    pqxx::work tx{db};
    if (tx.exec_params(kHold, id).empty()) {
      if (tx.exec_params(kExists, id).empty()) not_found(id);
      return false;
    }
    record_audit(tx, actor, "queue hold", id);
    tx.commit();
    return true;
  });
}

bool release(pqxx::connection_base& db, const std::string& id, const std::string& actor) {
  return guarded([&] {
    pqxx::work tx{db};
    if (tx.exec_params(kRelease, id, std::string(kQueueChannel)).empty()) {
      if (tx.exec_params(kExists, id).empty()) not_found(id);
      return false;
    }
    record_audit(tx, actor, "queue release", id);
    tx.commit();
    return true;
  });
}

void delete_queued(pqxx::connection_base& db, const std::string& id, const std::string& actor) {
  guarded([&] {
    pqxx::work tx{db};
    auto rows = tx.exec_params(kDelete, id);
    if (rows.empty()) not_found(id);
    const auto sender = rows[0][0].as<std::string>();
    const auto total = rows[0][1].as<long long>();
    const auto pending = rows[0][2].as<long long>();
    record_audit(tx, actor, "queue delete", id,
                 "from <" + sender + "> to " + std::to_string(total) +
                     (total == 1 ? " recipient" : " recipients") + " (" + std::to_string(pending) +
                     " pending)");
    tx.commit();
  });
}

}  // namespace postern::schema
