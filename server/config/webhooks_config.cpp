// The `webhooks:` keys of postern.yaml. See webhooks_config.hpp.
#include "server/config/webhooks_config.hpp"

#include "server/config/config_reader.hpp"
#include "server/config/read_file.hpp"
#include "server/webhooks/webhook_url.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace postern::config::detail {
namespace {

using Environment = std::function<std::optional<std::string>(const std::string&)>;

constexpr std::initializer_list<schema::WebhookEventType> kAllEvents{
    schema::WebhookEventType::Accepted, schema::WebhookEventType::Delivered, schema::WebhookEventType::Deferred,
    schema::WebhookEventType::Bounced, schema::WebhookEventType::Expired};

std::vector<schema::WebhookEventType> read_events(Section& e) {
  std::vector<std::string> names;
  if (!e.read("events", names)) return kAllEvents;
  std::vector<schema::WebhookEventType> events;
  for (const auto& name : names) {
    const auto type = schema::webhook_event_type(name);
    if (!type) {
      e.fail_at("events", "unknown event " + quote(name) +
                              " (expected accepted, delivered, deferred, bounced or expired)");
    }
    if (std::find(events.begin(), events.end(), *type) != events.end()) {
      e.fail_at("events", "lists " + quote(name) + " twice");
    }
    events.push_back(*type);
  }
  return events;
}

void read_endpoint(Section& e, WebhooksConfig& cfg, const Environment& env, Checks& checks) {
  WebhookEndpoint endpoint;
  if (!e.read("name", endpoint.name)) e.fail_at("name", "required");
  if (!schema::is_webhook_endpoint_name(endpoint.name)) {
    e.fail_at("name", "expected 1 to 63 of a-z, 0-9, '_' and '-', starting with a letter or digit, got " +
                          quote(endpoint.name));
  }
  for (const auto& other : cfg.endpoints) {
    if (other.name == endpoint.name) e.fail_at("name", "another endpoint is named " + quote(endpoint.name));
  }
  if (!e.read("url", endpoint.url)) e.fail_at("url", "required");
  bool tls = true;
  try {
    tls = webhooks::parse_webhook_url(endpoint.url).tls;
  } catch (const std::invalid_argument& error) {
    e.fail_at("url", quote(endpoint.url) + ": " + error.what());
  }
  if (e.read("ca_file", endpoint.ca_file)) {
    if (!tls) e.fail_at("ca_file", "only with an https:// url");
    if (endpoint.ca_file.front() != '/') {
      e.fail_at("ca_file", "expected an absolute path, got " + quote(endpoint.ca_file));
    }
  }
  endpoint.events = read_events(e);
  const SecretSource source = read_secret_source(e, "secret");
  const std::size_t index = cfg.endpoints.size();
  cfg.endpoints.push_back(std::move(endpoint));
  checks.push_back([e, source, index, &cfg, &env] {
    WebhookEndpoint& checked = cfg.endpoints[index];
    checked.secret = resolve_secret(e, source, env, "name");
    if (!checked.ca_file.empty() && access(checked.ca_file.c_str(), R_OK) != 0) {
      e.fail_at("ca_file", "cannot read " + checked.ca_file + ": " + std::strerror(errno));
    }
  });
}

}  // namespace

void read_webhooks(Section& root, WebhooksConfig& cfg, schema::WebhookSubscriptions& subscriptions,
                   const Environment& env, Checks& checks) {
  root.section("webhooks", [&](Section& s) {
    s.list("endpoints", [&](Section& e) { read_endpoint(e, cfg, env, checks); });
    s.read("timeout_seconds", cfg.timeout_seconds, 1, 300);
    s.read("concurrency", cfg.concurrency, 1, 64);
    s.read("batch", cfg.batch, 1, 1000);
    s.read("poll_milliseconds", cfg.poll_milliseconds, 10, 60000);
    s.read("first_retry_seconds", cfg.first_retry_seconds, 1, 86400);
    s.read("max_retry_seconds", cfg.max_retry_seconds, 1, 7 * 86400);
    s.read("give_up_hours", cfg.give_up_hours, 1, 24 * 365);
    if (cfg.max_retry_seconds < cfg.first_retry_seconds) {
      s.fail_at("max_retry_seconds", "must be at least first_retry_seconds (" +
                                         std::to_string(cfg.first_retry_seconds) + "), got " +
                                         std::to_string(cfg.max_retry_seconds));
    }
  });
  for (const auto& endpoint : cfg.endpoints) {
    for (const auto type : endpoint.events) subscriptions.add(endpoint.name, type);
  }
}

}  // namespace postern::config::detail
