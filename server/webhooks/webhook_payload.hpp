// The JSON body of one webhook POST: one event of one message for one recipient (an outbox row,
// schema::WebhookEvent). Compact, keys in this order:
//
//   {"id":"<event uuid>","type":"message.delivered","created_at":"2026-12-01T13:47:19Z",
//    "message":{"id":"<queue id>","sender":"a@example.com","auth_user":"alice","intake":"submission"},
//    "recipient":{"address":"b@example.net","share":2},
//    "reply":"250 2.0.0 OK","attempt":0}
//
// auth_user is null for mail no user submitted; recipient.share is absent for the recipient
// itself (present, n, for its n-th secret share); reply is absent for message.accepted; attempt
// counts the posts of this event tried before this one (0 the first time).
#pragma once

#include "postern/schema/webhook_outbox.hpp"

#include <string>

namespace postern::webhooks {

std::string webhook_payload(const schema::WebhookEvent& event);

// "2026-12-01T13:47:19Z" for a unix time.
std::string rfc3339_utc(long long unix_time);

}  // namespace postern::webhooks
