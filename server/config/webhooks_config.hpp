// The `webhooks:` section of postern.yaml: endpoints that receive a signed JSON POST for every
// message event they subscribe to (server/webhooks). Absent or without endpoints: no events are
// written at all. The subscriptions also go into delivery::DeliveryConfig::webhooks, which the
// queue writes the outbox rows with (schema/webhook_outbox.hpp).
#pragma once

#include "postern/schema/webhook_outbox.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace postern::config {

struct WebhookEndpoint {
  std::string name;       // schema::is_webhook_endpoint_name: the outbox rows carry it
  std::string url;        // https://host[:port]/path; http:// only to a loopback address
  std::string secret;     // from secret_file (or secret_env): the HMAC-SHA256 key of Postern-Signature
  std::string ca_file;    // PEM CAs that verify the endpoint's certificate; empty: the system's
  std::vector<schema::WebhookEventType> events;  // default: all five

  friend bool operator==(const WebhookEndpoint&, const WebhookEndpoint&) = default;
};

struct WebhooksConfig {
  std::vector<WebhookEndpoint> endpoints;
  unsigned timeout_seconds = 10;            // one POST: connect, TLS, request and response
  unsigned concurrency = 4;                 // POSTs in flight per endpoint
  unsigned batch = 100;                     // events claimed at a time
  unsigned poll_milliseconds = 1000;        // how often an idle dispatcher looks for new events
  unsigned first_retry_seconds = 10;        // backoff starts here, doubles, with jitter
  unsigned max_retry_seconds = 3600;        // and is capped here
  unsigned give_up_hours = 72;              // then an unacknowledged event is dropped (logged)

  friend bool operator==(const WebhooksConfig&, const WebhooksConfig&) = default;
};

namespace detail {

class Section;

// Reads `webhooks:` into `cfg` and its subscriptions into `subscriptions`.
void read_webhooks(Section& root, WebhooksConfig& cfg, schema::WebhookSubscriptions& subscriptions,
                   const std::function<std::optional<std::string>(const std::string&)>& env,
                   std::vector<std::function<void()>>& checks);

}  // namespace detail
}  // namespace postern::config
