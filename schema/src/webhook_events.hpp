// Internal to the queue store: the outbox rows (webhook_outbox.hpp) that the queue's own
// statements write in the transaction of the change they report. Each event of an attempt is an
// entry of four parallel arrays (recipient position, share index or 0, event name, reply); each
// becomes one row per endpoint subscribed to its event, in the order of the entries.
#pragma once

#include "postern/schema/queue_store.hpp"
#include "postern/schema/webhook_outbox.hpp"

#include <pqxx/pqxx>

#include <string>
#include <string_view>
#include <vector>

namespace postern::schema {

// An INSERT of an attempt's events, for a statement's WITH or on its own. `messages` is a
// relation with the columns id, sender, auth_user and intake of the one message concerned;
// parameters $first..$first+4 are the positions (integer[]), share indexes (integer[]), event
// names (text[]), replies (text[]) and WebhookSubscriptions::pairs().
std::string attempt_events_insert(std::string_view messages, int first);

// An attempt's events, as those parameters take them.
struct AttemptEvents {
  std::vector<int> positions;
  std::vector<int> shares;
  std::vector<std::string> events;
  std::vector<std::string> replies;

  void add(int position, int share, WebhookEventType type, const std::string& reply);
  bool empty() const { return positions.empty(); }
};

// The events of a recipient update: delivered, deferred, bounced or (RecipientUpdate::expired)
// expired.
WebhookEventType event_of(RecipientOutcome outcome, bool expired);

// Writes `events` for the message `message_id` (still in postern_queue) with the statement
// prepared by prepare_webhook_statements; nothing when there are none or nobody subscribed.
void insert_attempt_events(pqxx::transaction_base& tx, const std::string& message_id, const AttemptEvents& events,
                           const WebhookSubscriptions& subscriptions);

}  // namespace postern::schema
