// Queue administration for `mailadmin queue …`: look at the PostgreSQL mail queue (every
// replica's messages, since the queue is shared) and act on single messages or all of them.
// Parameterised statements only; each change is one transaction together with its audit row.
//
// Timestamps are text in UTC, "YYYY-MM-DD HH:MM:SS", like the Store's. Ids are matched exactly
// (they are what "250 2.0.0 Ok: queued as <id>" and the logs print).
// Failures: NotFound("queued message X does not exist"), DatabaseUnavailable (errors.hpp).
#pragma once

#include "postern/schema/seal.hpp"

#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace pqxx { class connection_base; }

namespace postern::schema {

// One share of a shared recipient (migration 0008): its own destination, upstream and status.
// Where a shared recipient's share, or a fanned-out recipient's copy, goes.
struct QueueDestination {
  int index = 0;  // the share's (or copy's) index, 1..n
  bool copy = false;  // the whole message, to one of the upstreams of a fan-out route
  std::string mailbox;
  std::string upstream;
  std::string status;      // "pending", "delivered" or "failed"
  int attempts = 0;
  std::string last_reply;  // empty when none yet
};

struct QueueRecipient {
  std::string address;
  std::string status;      // "pending", "delivered" or "failed"
  int attempts = 0;
  std::string last_reply;  // empty when none yet
  std::string updated_at;
  std::vector<QueueDestination> destinations;  // `queue show` only: a shared recipient's shares
};

// One line of `queue list`.
struct QueueEntry {
  std::string id;
  std::string created_at;
  long long age_seconds = 0;           // now() - created_at
  std::string sender;                  // empty for the null sender <>
  std::vector<QueueRecipient> recipients;  // in envelope order (address and status filled in)
  int recipients_pending = 0;
  int attempts = 0;
  std::string next_attempt_at;
  long long next_attempt_in_seconds = 0;  // negative or 0 when due
  bool held = false;
  bool leased = false;                 // a worker holds an unexpired lease: being delivered
  std::string last_error;              // empty when none
  std::string auth_user;               // who submitted it; empty for inbound mail
};

// `queue show`: everything but the body.
struct QueuedMessageDetails {
  QueueEntry entry;                    // recipients with attempts, last reply, updated_at
  std::string auth_user;               // empty for inbound mail
  std::string client_address;
  std::string helo;
  std::string body_type;               // "7BIT" or "8BITMIME"
  bool smtputf8 = false;
  long long size = 0;                  // bytes, as it will be delivered
  std::string lease_owner;             // empty when not leased
  std::string lease_until;
  std::string upstream;                // chosen by a handler at intake; empty: by the routes
  std::string intake;                  // the listener kind: "submission", "inbound" or "lmtp"
  bool dsn = true;                     // failures make a DSN (off: kept in the queue instead)
  std::string headers;                 // the header section, without the blank line ending it
  bool headers_truncated = false;      // no blank line within the first kQueueHeaderLimit bytes
  std::string seal_key;                // the key its body is sealed under; empty: stored in clear
  std::string seal_problem;            // why the sealed body does not open here (no headers then)
};

// The most of a message `show_queued` reads: headers longer than this are cut.
inline constexpr std::size_t kQueueHeaderLimit = 8192;

// Every queued message, oldest first.
std::vector<QueueEntry> list_queue(pqxx::connection_base& db);

// nullopt when there is no such message. A sealed message's headers are opened with `keys`.
std::optional<QueuedMessageDetails> show_queued(pqxx::connection_base& db, const std::string& id,
                                               const SealKeys& keys = {});

// `queue show --body`: writes the message exactly as it will be delivered (header section and
// body) to `out`, one chunk at a time (message_chunks.hpp), all from one snapshot; a sealed one
// opened with `keys` (SealKeyMissing, SealBroken when it does not open).
void write_queued_message(pqxx::connection_base& db, const std::string& id, std::ostream& out,
                          const SealKeys& keys = {});

// Makes the message due now and wakes the delivery workers (NOTIFY postern_queue). A held
// message stays held; one being delivered right now keeps the time its attempt sets. Returns 1.
std::size_t retry(pqxx::connection_base& db, const std::string& id, const std::string& actor);
// The same for every message that is not held; returns how many. One notification wakes the
// workers for the whole batch. Audited once ("queue retry --all", "N messages").
std::size_t retry_all(pqxx::connection_base& db, const std::string& actor);

// Keeps the message from delivery until released (an attempt under way finishes). Returns
// false, and audits nothing, when it was held already.
bool hold(pqxx::connection_base& db, const std::string& id, const std::string& actor);
// Lets a held message go, due now, and wakes the workers. Returns false, changing and auditing
// nothing, when it was not held.
bool release(pqxx::connection_base& db, const std::string& id, const std::string& actor);

// Drops the message and its recipients: no delivery, no bounce. (A delivery attempt under way
// may still reach the upstream; its result is then discarded.)
void delete_queued(pqxx::connection_base& db, const std::string& id, const std::string& actor);

}  // namespace postern::schema
