// The mail queue in PostgreSQL. `enqueue` stores one accepted message — envelope, recipients and
// body chunks (message_chunks.hpp) — in a single transaction (so a crash leaves all or nothing)
// and notifies delivery workers on commit; the caller replies 250 only after it returns, that is
// after the commit was flushed to disk. Delivery's bookkeeping (claims, leases, attempt records)
// commits without waiting for that flush: a database crash may undo its last commits, and the
// messages they concerned are then delivered again (at least once), never lost.
#pragma once

#include "postern/schema/message_chunks.hpp"
#include "postern/schema/seal.hpp"
#include "postern/schema/webhook_outbox.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pqxx { class connection_base; }

namespace postern::schema {

// Where one share of a shared recipient goes (the share map as it was at intake).
struct ShareTarget {
  std::string mailbox;
  std::string upstream;
  std::string envelope_from;  // empty: the message's sender
};

// A recipient delivered as secret shares (share_maps.hpp): target i carries share i + 1.
struct SharedRecipient {
  int position = 0;                    // the recipient's, 1-based as in `recipients`
  std::string scheme;                  // "xor" (n of n) or "shamir" (k of n)
  int threshold = 0;                   // k
  std::string format = "postern";      // "postern" or "privmail"
  std::vector<ShareTarget> targets;
};

struct QueuedMessage {
  std::string id;
  std::string sender;
  std::string auth_user;  // empty for inbound mail (stored as NULL)
  std::string client_address;
  std::string helo;
  bool eight_bit_mime = false;
  bool smtputf8 = false;
  std::vector<std::string> recipients;
  // The final bytes (added headers + the client's message), streamed into chunks: read from
  // `content` when it is set (intake, from the spool), else taken from `message` (a DSN, small).
  ChunkSource content;
  std::string message;
  // Recipients with a share map, and the 32 random bytes every share of this message is drawn
  // from (one derived draw per recipient): stored beside the message so that a retry sends the
  // same share. Both empty for a message without shared recipients.
  std::vector<SharedRecipient> shared;
  std::string share_seed;
  // The upstream a handler chose (its `route` action) for the recipients without a share map;
  // empty: the routes decide at delivery.
  std::string upstream;
  // The kind of listener that took it: "submission", "inbound" or "lmtp".
  std::string intake = "submission";
  // Whether recipients that finally fail make a DSN (off for inbound mail: no backscatter).
  bool dsn = true;
  // The key its body chunks and share seed are sealed under (seal.hpp); unset: stored in clear.
  std::optional<SealKey> seal;
  // The DKIM body hash (base64), asked once `content` is all read (intake computes it as the
  // body streams by); unset or empty: none, the message goes unsigned.
  std::function<std::string()> dkim_body_hash;
  // Who is told it was accepted: an outbox row per recipient and endpoint subscribed to
  // "accepted", in the same statement as the message (webhook_outbox.hpp).
  WebhookSubscriptions webhooks{};
};

// The name the share seed is sealed under (seal_field()).
inline constexpr const char* kShareSeedField = "share_seed";

// The LISTEN/NOTIFY channel that wakes delivery workers.
inline constexpr const char* kQueueChannel = "postern_queue";

// A fresh queue id: 20 characters of Crockford base32 from 12 random bytes.
std::string new_queue_id();

// Prepares the queue's statements on a connection (once per connection).
void prepare_queue_statements(pqxx::connection_base& db);

// Stores the message durably (synchronous commit) or throws DatabaseUnavailable. The size
// column is the total the chunks hold. A message of one chunk without shared recipients (most
// mail) is one statement, and so one round trip.
void enqueue(pqxx::connection_base& db, const QueuedMessage& message);

// ---- Delivery side -------------------------------------------------------------------------

// A share not delivered yet.
struct PendingShare {
  int index = 0;  // 1..n
  ShareTarget target;
};

// How a shared recipient's shares are made, and those still to deliver.
struct RecipientShares {
  std::string scheme;
  int threshold = 0;
  int count = 0;  // n: all its shares, delivered or not
  std::string format;
  std::vector<PendingShare> pending;
};

struct PendingRecipient {
  int position;
  std::string address;
  std::optional<RecipientShares> shares;  // set for a shared recipient: its shares are delivered instead
};

// The largest message whose body comes with its claim (one chunk row, read in the same
// statement); delivery reads a larger one chunk by chunk. A claim of `limit` messages holds at
// most `limit` of these.
inline constexpr std::size_t kClaimedBodyLimit = 64 * 1024;

// A message a worker has leased: its envelope, and its body only when it is small (delivery
// reads any other chunk by chunk with read_chunk()). Only its pending recipients are listed.
struct ClaimedMessage {
  std::string id;
  std::string sender;
  bool eight_bit_mime = false;
  bool smtputf8 = false;
  std::uint64_t size = 0;       // the stored message's octets: what its chunks hold together
  int attempts = 0;             // including this one
  long long age_seconds = 0;    // since it was queued
  long long arrival_time = 0;   // unix time it was queued
  std::vector<PendingRecipient> recipients;
  std::string share_seed;  // 32 bytes when a recipient is shared (opened, when it was sealed)
  std::string upstream;    // chosen at intake (QueuedMessage::upstream); empty: by the routes
  bool dsn = true;         // QueuedMessage::dsn
  // The stored message, all `size` bytes, when it came with the claim (at most
  // kClaimedBodyLimit); null otherwise. Shared: a delivery may read it more than once.
  std::shared_ptr<const std::string> body;
  // The id of the key its chunks and share seed are sealed under; empty: stored in clear.
  std::string seal_key;
  // Why a sealed value of it did not open at the claim (SealKeyMissing, SealBroken): its body
  // and share seed are then unset, and reading its chunks fails the same way. Empty otherwise.
  std::string seal_error;
  // QueuedMessage::dkim_body_hash; empty: not signed.
  std::string dkim_body_hash;
};

// Who holds a lease: the replica's stable identity (its pod name; outside Kubernetes the host
// name and listener port) and a boot id drawn afresh at each process start. The lease owner
// column holds text(), "identity/boot-id", so a restarted replica recognises what its dead
// predecessor held.
struct LeaseOwner {
  std::string identity;  // never contains '/'
  std::string boot_id;
  std::string text() const { return identity + "/" + boot_id; }
};

// At start-up, before the first claim: the messages leased by earlier boots of this identity
// (their process is gone) become due at once instead of when those leases run out. Leases of
// other identities, and this boot's own, stay. Returns how many messages were released.
long release_earlier_boots(pqxx::connection_base& db, const LeaseOwner& owner);

// Leases up to `limit` due messages for `owner` (FOR UPDATE SKIP LOCKED: replicas never claim
// the same message; a lease that is still running is never taken, one that ran out because its
// replica died is taken over), in one statement that also returns their recipients and the
// bodies of the small ones; a message with shared recipients takes a read of its shares more.
// Sealed bodies and seeds are opened with `keys`.
std::vector<ClaimedMessage> claim_due(pqxx::connection_base& db, const std::string& owner, int limit,
                                      int lease_seconds, const SealKeys& keys = {});

enum class RecipientOutcome { Delivered, Deferred, Failed };

struct RecipientUpdate {
  int position;
  RecipientOutcome outcome;
  std::string reply;  // the upstream's reply or the local error
  bool expired = false;  // Failed because the lifetime ended (not a permanent reply)
};

// One share's result. A shared recipient is settled once none of its shares is pending: failed
// when one failed, else delivered.
struct ShareUpdate {
  int position;
  int index;
  RecipientOutcome outcome;
  std::string reply;
  bool expired = false;  // as RecipientUpdate::expired
};

// The result of one delivery attempt, recorded in one transaction: recipients updated, the
// bounce (if any) queued, and the message deleted when no recipient is pending any more, or
// else released with its next attempt time. Only the lease owner may record.
struct AttemptRecord {
  std::string message_id;
  std::string owner;
  std::vector<RecipientUpdate> recipients;  // plain recipients
  int retry_after_seconds = 0;  // for deferred recipients
  std::string last_error;
  std::optional<QueuedMessage> bounce;
  std::vector<ShareUpdate> shares;  // shared recipients' shares
  // A message without DSNs whose recipients failed stays queued, visible to `mailadmin queue`,
  // until it is deleted or its lifetime ends (then retry_after_seconds is the time left).
  bool keep_failed = false;
  // Who is told: an outbox row per event and subscribed endpoint, in the attempt's transaction
  // — delivered, deferred, bounced or expired per plain recipient; per share or copy, deferred
  // when it is, and the recipient's own event once its last share settles it.
  WebhookSubscriptions webhooks{};
};

// Extends a lease while its delivery is still running, so a slow upstream never makes a healthy
// replica look dead. Returns false when the lease was lost.
bool renew_lease(pqxx::connection_base& db, const std::string& message_id, const std::string& owner,
                 int lease_seconds);

// Returns false when the lease was lost (another replica took the message over). An attempt
// that settled every recipient and queues no DSN (the usual delivery) deletes the message in one
// statement.
bool record_attempt(pqxx::connection_base& db, const AttemptRecord& record);

// Seconds until the earliest unheld message is due (0 when one is due now); nullopt when the
// queue holds nothing to deliver.
std::optional<double> seconds_until_next_due(pqxx::connection_base& db);

}  // namespace postern::schema
