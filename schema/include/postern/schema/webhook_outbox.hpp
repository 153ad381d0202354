// The webhook outbox (migration 0015): message events for the configured endpoints, written by
// the queue (queue_store.hpp) in the very transaction of the change they report, and sent by the
// relay's webhook dispatcher (server/webhooks), which claims them, posts them, and deletes each
// once its endpoint acknowledged it or schedules its retry. At least once: a replica that dies
// after posting but before the delete leaves the row to be posted again when its lease ends
// (receivers tell repeats by the event id).
//
// Order: the events of one message for one endpoint are claimed one at a time, in the order they
// were written; the next is claimed only once the one before is gone (acknowledged, or given up).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pqxx { class connection_base; }

namespace postern::schema {

enum class WebhookEventType { Accepted, Delivered, Deferred, Bounced, Expired };

// "accepted", "delivered", "deferred", "bounced", "expired": the outbox's `event` column and the
// JSON's "type".
const char* webhook_event_name(WebhookEventType type);
std::optional<WebhookEventType> webhook_event_type(std::string_view name);

// An endpoint's name: 1 to 63 of [a-z0-9_-], starting with a letter or digit.
bool is_webhook_endpoint_name(std::string_view name);

// Which endpoints take which events. The queue writes one outbox row per event and subscribed
// endpoint; with no subscription (no endpoint configured) it writes none and costs nothing.
class WebhookSubscriptions {
 public:
  // `endpoint` must satisfy is_webhook_endpoint_name (else std::invalid_argument).
  void add(const std::string& endpoint, WebhookEventType type);
  bool empty() const { return pairs_.empty(); }
  bool wants(WebhookEventType type) const;
  // "endpoint:event,endpoint:event" (the statements split it in SQL).
  const std::string& pairs() const { return pairs_; }
  // The endpoints subscribed to `type`, comma-joined.
  std::string endpoints(WebhookEventType type) const;

  friend bool operator==(const WebhookSubscriptions&, const WebhookSubscriptions&) = default;

 private:
  std::string pairs_;
};

// One outbox row, as the dispatcher posts it.
struct WebhookEvent {
  std::int64_t id = 0;      // the outbox row; ascending in the order events were written
  std::string event_id;     // a UUID, the same at every retry: receivers drop repeats by it
  std::string endpoint;
  std::string type;         // webhook_event_name()
  std::string message_id;   // the queue id
  std::string sender;       // the envelope sender; empty for a DSN's null sender
  std::string auth_user;    // empty: not submitted by a user (inbound, LMTP)
  std::string intake;       // "submission", "inbound" or "lmtp"
  std::string recipient;
  int share_index = 0;      // 0: the recipient itself; n: its n-th secret share
  std::string reply;        // delivered/deferred/bounced/expired: the upstream's reply or the error
  long long created_at = 0; // unix seconds when the event happened
  int attempts = 0;         // posts tried before this claim
};

// Prepares the outbox's statements on a connection (once per connection; the queue's statements
// prepare it too).
void prepare_webhook_statements(pqxx::connection_base& db);

// Leases up to `limit` due events of the named endpoints (others' rows are left alone: an
// endpoint no longer configured keeps its events) for `owner`, at most one per endpoint and
// message, the longest due first. A lease that ran out (its replica died) is taken over.
std::vector<WebhookEvent> claim_webhook_events(pqxx::connection_base& db, const std::string& owner, int limit,
                                               int lease_seconds, const std::vector<std::string>& endpoints);

// The endpoint acknowledged these events: they are deleted (when this owner still leases them).
void webhook_events_sent(pqxx::connection_base& db, const std::string& owner, const std::vector<std::int64_t>& ids);

// Claimed but not posted (the relay stops): the leases end now, attempts unchanged.
void release_webhook_events(pqxx::connection_base& db, const std::string& owner, const std::vector<std::int64_t>& ids);

// At start-up: the events leased by earlier boots of this replica's identity (`identity/boot`,
// as LeaseOwner::text() in queue_store.hpp; their process is gone) become claimable at once
// instead of when those leases run out. Returns how many.
long release_earlier_webhook_leases(pqxx::connection_base& db, const std::string& identity,
                                    const std::string& owner);

// A post failed: the lease is released, attempts counted, the error kept, and the event is due
// again in `retry_after_seconds`; the later events of its endpoint and message not before it.
void webhook_event_failed(pqxx::connection_base& db, const std::string& owner, std::int64_t id,
                          int retry_after_seconds, const std::string& error);

// Events written more than `max_age_seconds` ago and not acknowledged yet are given up: deleted
// and returned (the dispatcher logs and counts each). Leased rows are left until their lease ends.
std::vector<WebhookEvent> give_up_webhook_events(pqxx::connection_base& db, long long max_age_seconds);

// Seconds until the earliest unleased event of these endpoints is due (0: now); nullopt when
// there is none.
std::optional<double> seconds_until_next_webhook(pqxx::connection_base& db, const std::vector<std::string>& endpoints);

// Per endpoint with events waiting: `mailadmin webhooks status`, GET /api/webhooks, metrics.
struct WebhookBacklog {
  std::string endpoint;
  long long pending = 0;             // events not acknowledged yet
  long long failing = 0;             // of them, those with a failed post
  long long oldest_age_seconds = 0;  // of the oldest
  std::string last_error;            // of its oldest failing event; empty: none failed
};
std::vector<WebhookBacklog> webhook_backlog(pqxx::connection_base& db);

// Makes every waiting event of `endpoint` (all endpoints when empty) due now, audited as
// `actor`'s "webhooks retry"; returns how many.
long long retry_webhook_events_now(pqxx::connection_base& db, const std::string& endpoint, const std::string& actor);

}  // namespace postern::schema
