// See config_changes.hpp. One table names every scalar key once, with whether the running relay
// can take a new value; the lists (listeners, upstreams, routes, handlers) are compared by item.
#include "server/config/config_changes.hpp"

#include <algorithm>
#include <functional>
#include <string_view>

namespace postern::config {
namespace {

enum class Applies { Now, AtRestart };

// A key: its name, whether it applies now, and how to compare it and keep its running value.
struct Key {
  std::string_view name;
  Applies applies;
  std::function<bool(const Config&, const Config&)> same;
  std::function<void(Config&, const Config&)> keep;
};

template <typename Member>
Key key(std::string_view name, Applies applies, Member Config::*field) {
  return {name, applies, [field](const Config& a, const Config& b) { return a.*field == b.*field; },
          [field](Config& to, const Config& from) { to.*field = from.*field; }};
}

// A key inside a section: handler_commands.workers, delivery.lease_seconds.
template <typename Section, typename Member>
Key key(std::string_view name, Applies applies, Section Config::*section, Member Section::*field) {
  return {name, applies,
          [section, field](const Config& a, const Config& b) { return a.*section.*field == b.*section.*field; },
          [section, field](Config& to, const Config& from) { to.*section.*field = from.*section.*field; }};
}

// A key of the `dkim:` section (delivery::DkimConfig, inside the delivery settings): applies now.
template <typename Member>
Key dkim_key(std::string_view name, Member delivery::DkimConfig::*field) {
  return {name, Applies::Now,
          [field](const Config& a, const Config& b) { return a.delivery.dkim.*field == b.delivery.dkim.*field; },
          [field](Config& to, const Config& from) { to.delivery.dkim.*field = from.delivery.dkim.*field; }};
}

const std::vector<Key>& keys() {
  using enum Applies;
  static const std::vector<Key> table{
      key("hostname", AtRestart, &Config::hostname),
      key("database.url", AtRestart, &Config::database_url),
      key("database.pool_size", AtRestart, &Config::database_pool_size),
      key("database.timeout_seconds", AtRestart, &Config::database_timeout_seconds),
      key("database.wait_timeout_seconds", AtRestart, &Config::database_wait_timeout_seconds),
      // The certificate and key files are read again by every reload; which files, and whether
      // there is TLS at all, is fixed at start.
      key("tls", AtRestart, &Config::tls),
      key("http", AtRestart, &Config::http),
      // Its listener, tokens and database; the operations' settings (Argon2, policy, seal keys)
      // follow the reload.
      key("admin_api", AtRestart, &Config::admin_api),
      key("limits.max_message_size", Now, &Config::max_message_size),
      key("limits.max_recipients", Now, &Config::max_recipients),
      key("limits.max_errors", Now, &Config::max_errors),
      key("limits.max_idle_commands", Now, &Config::max_idle_commands),
      key("limits.max_connections", Now, &Config::max_connections),
      key("limits.max_connections_per_ip", Now, &Config::max_connections_per_ip),
      key("limits.command_timeout_seconds", Now, &Config::command_timeout_seconds),
      key("limits.data_timeout_seconds", Now, &Config::data_timeout_seconds),
      key("limits.auth_timeout_seconds", Now, &Config::auth_timeout_seconds),
      key("limits.session_timeout_seconds", Now, &Config::session_timeout_seconds),
      key("auth.argon2_memory_kib", Now, &Config::argon2_memory_kib),
      key("auth.argon2_iterations", Now, &Config::argon2_iterations),
      key("auth.hash_threads", AtRestart, &Config::auth_hash_threads),
      key("auth.hash_queue", AtRestart, &Config::auth_hash_queue),
      key("auth.failure_window_seconds", Now, &Config::auth_failure_window_seconds),
      key("auth.failures_per_network", Now, &Config::auth_failures_per_network),
      key("auth.failures_per_user_network", Now, &Config::auth_failures_per_user_network),
      key("auth.failure_delay_ms", Now, &Config::auth_failure_delay_ms),
      key("auth.user_delay_ms", Now, &Config::auth_user_delay_ms),
      key("auth.checks_per_user", Now, &Config::auth_checks_per_user),
      key("auth.known_network_days", Now, &Config::auth_known_network_days),
      key("auth.cache_seconds", Now, &Config::auth_cache_seconds),
      key("auth.cache_entries", Now, &Config::auth_cache_entries),
      // The issuer, audiences, claim, scope and the JWK Set file's keys (read again by a reload).
      key("oauth", Now, &Config::oauth),
      key("sending_limits.messages_per_hour", Now, &Config::messages_per_hour),
      key("sending_limits.messages_per_day", Now, &Config::messages_per_day),
      key("sending_limits.recipients_per_hour", Now, &Config::recipients_per_hour),
      key("sending_limits.recipients_per_day", Now, &Config::recipients_per_day),
      // The windows name the rows of counts in PostgreSQL, which every replica shares.
      key("sending_limits.hour_seconds", AtRestart, &Config::limit_hour_seconds),
      key("sending_limits.day_seconds", AtRestart, &Config::limit_day_seconds),
      key("sending_limits.sync_milliseconds", AtRestart, &Config::limit_sync_milliseconds),
      key("policy.local_part_case_sensitive", Now, &Config::local_part_case_sensitive),
      key("policy.subaddress_delimiter", Now, &Config::subaddress_delimiter),
      key("policy.check_header_from", Now, &Config::check_header_from),
      key("policy.address_like_display_names", Now, &Config::refuse_address_like_display_names),
      key("submission.add_message_id", Now, &Config::add_message_id),
      key("submission.add_date", Now, &Config::add_date),
      key("submission.add_received", Now, &Config::add_received),
      key("submission.add_x_peer", Now, &Config::add_x_peer),
      key("submission.received_shows_user", Now, &Config::received_shows_user),
      key("logging.level", Now, &Config::log_level),
      key("shutdown_grace_seconds", AtRestart, &Config::shutdown_grace_seconds),
      key("threads.io", AtRestart, &Config::io_threads),
      key("queue.spool_directory", AtRestart, &Config::spool_directory),
      // New messages are sealed under the first key, every key opens: a claim and an attempt
      // take the keys when they start.
      key("queue.seal_keys", Now, &Config::delivery, &delivery::DeliveryConfig::seal_keys),
      key("handlers", Now, &Config::handlers, &handlers::HandlerSettings::handlers),
      key("handler_commands.workers", AtRestart, &Config::handlers, &handlers::HandlerSettings::command_workers),
      key("handler_commands.queue", AtRestart, &Config::handlers, &handlers::HandlerSettings::command_queue),
      // The scheduler's loop is sized and timed once; an attempt's verdict reads the others.
      key("delivery.workers", AtRestart, &Config::delivery, &delivery::DeliveryConfig::workers),
      key("delivery.lease_seconds", AtRestart, &Config::delivery, &delivery::DeliveryConfig::lease_seconds),
      key("delivery.poll_seconds", AtRestart, &Config::delivery, &delivery::DeliveryConfig::poll_seconds),
      key("delivery.lifetime_seconds", Now, &Config::delivery, &delivery::DeliveryConfig::lifetime_seconds),
      key("delivery.first_retry_seconds", Now, &Config::delivery, &delivery::DeliveryConfig::first_retry_seconds),
      key("delivery.max_retry_seconds", Now, &Config::delivery, &delivery::DeliveryConfig::max_retry_seconds),
      key("routes", Now, &Config::delivery, &delivery::DeliveryConfig::routes),
      key("default_upstream", Now, &Config::delivery, &delivery::DeliveryConfig::default_upstream),
      // An attempt takes the signing settings when it starts; intake reads enabled per message.
      dkim_key("dkim.enabled", &delivery::DkimConfig::enabled),
      dkim_key("dkim.headers", &delivery::DkimConfig::headers),
      // The dispatcher takes them all between two batches (new URLs, secrets, CAs and events);
      // the queue writes the next events for the new subscriptions.
      key("webhooks.endpoints", Now, &Config::webhooks, &WebhooksConfig::endpoints),
      key("webhooks.timeout_seconds", Now, &Config::webhooks, &WebhooksConfig::timeout_seconds),
      key("webhooks.concurrency", Now, &Config::webhooks, &WebhooksConfig::concurrency),
      key("webhooks.batch", Now, &Config::webhooks, &WebhooksConfig::batch),
      key("webhooks.poll_milliseconds", Now, &Config::webhooks, &WebhooksConfig::poll_milliseconds),
      key("webhooks.first_retry_seconds", Now, &Config::webhooks, &WebhooksConfig::first_retry_seconds),
      key("webhooks.max_retry_seconds", Now, &Config::webhooks, &WebhooksConfig::max_retry_seconds),
      key("webhooks.give_up_hours", Now, &Config::webhooks, &WebhooksConfig::give_up_hours),
  };
  return table;
}

const delivery::Upstream* find(const std::vector<delivery::Upstream>& upstreams, const std::string& name) {
  auto it = std::find_if(upstreams.begin(), upstreams.end(), [&](const auto& u) { return u.name == name; });
  return it == upstreams.end() ? nullptr : &*it;
}

// "upstreams.NAME" for each upstream added, removed or changed. Delivery runs only when the
// relay started with upstreams, so turning it on or off needs a restart.
void compare_upstreams(const Config& running, const Config& next, ConfigChanges& changes) {
  const auto& before = running.delivery.upstreams;
  const auto& after = next.delivery.upstreams;
  if (before.empty() != after.empty()) {
    changes.needs_restart.emplace_back("upstreams");
    return;
  }
  for (const auto& upstream : before) {
    const delivery::Upstream* now = find(after, upstream.name);
    if (now == nullptr || !(*now == upstream)) changes.changed.push_back("upstreams." + upstream.name);
  }
  for (const auto& upstream : after) {
    if (find(before, upstream.name) == nullptr) changes.changed.push_back("upstreams." + upstream.name);
  }
}

void compare_listeners(const Config& running, const Config& next, ConfigChanges& changes) {
  const ListenerPlan plan = plan_listeners(running.listeners, next.listeners);
  for (const auto& l : plan.added) changes.changed.push_back("listeners+" + listener_socket(l));
  for (const auto& l : plan.removed) changes.changed.push_back("listeners-" + listener_socket(l));
  for (const auto& l : plan.changed) changes.changed.push_back("listeners~" + listener_socket(l));
}

}  // namespace

Config keep_running_values(const Config& running, Config next) {
  for (const Key& key : keys()) {
    if (key.applies == Applies::AtRestart) key.keep(next, running);
  }
  // Delivery on or off: its upstreams and routes stay as they run.
  if (running.delivery.upstreams.empty() != next.delivery.upstreams.empty()) {
    next.delivery.upstreams = running.delivery.upstreams;
    next.delivery.routes = running.delivery.routes;
    next.delivery.default_upstream = running.delivery.default_upstream;
  }
  return next;
}

ConfigChanges compare_configs(const Config& running, const Config& next) {
  ConfigChanges changes;
  compare_listeners(running, next, changes);
  const Config applied = keep_running_values(running, next);
  for (const Key& key : keys()) {
    if (key.applies == Applies::Now && !key.same(running, applied)) changes.changed.emplace_back(key.name);
    if (key.applies == Applies::AtRestart && !key.same(running, next)) changes.needs_restart.emplace_back(key.name);
  }
  compare_upstreams(running, next, changes);
  return changes;
}

std::vector<std::string> compared_keys() {
  std::vector<std::string> names{"listeners", "upstreams"};
  for (const Key& key : keys()) names.emplace_back(key.name);
  return names;
}

std::string listener_socket(const ListenerConfig& listener) {
  if (!listener.path.empty()) return "unix:" + listener.path;
  return listener.address + ":" + std::to_string(listener.port);
}

ListenerPlan plan_listeners(const std::vector<ListenerConfig>& running, const std::vector<ListenerConfig>& next) {
  const auto same_socket = [](const ListenerConfig& socket) {
    return [name = listener_socket(socket)](const ListenerConfig& l) { return listener_socket(l) == name; };
  };
  ListenerPlan plan;
  for (const auto& listener : next) {
    auto it = std::find_if(running.begin(), running.end(), same_socket(listener));
    if (it == running.end()) {
      plan.added.push_back(listener);
    } else if (!(*it == listener)) {
      plan.changed.push_back(listener);
    }
  }
  for (const auto& listener : running) {
    if (std::none_of(next.begin(), next.end(), same_socket(listener))) plan.removed.push_back(listener);
  }
  return plan;
}

}  // namespace postern::config
