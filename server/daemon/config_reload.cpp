// See config_reload.hpp.
#include "server/daemon/config_reload.hpp"

#include "server/admin/admin_server.hpp"
#include "server/auth/credential_check.hpp"
#include "server/config/config_changes.hpp"
#include "server/daemon/component_settings.hpp"
#include "server/delivery/message_delivery.hpp"
#include "server/net/connection_limiter.hpp"
#include "server/net/listener.hpp"
#include "server/net/tls_context.hpp"
#include "server/policy/grant_check.hpp"
#include "server/policy/sending_limits.hpp"
#include "server/queue/handler_chain.hpp"
#include "server/queue/message_intake.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/metrics.hpp"
#include "server/sharing/share_map_cache.hpp"
#include "server/webhooks/webhook_dispatcher.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <exception>
#include <utility>

namespace postern::daemon {
namespace {

std::string joined(const std::vector<std::string>& keys) {
  std::string text;
  for (const auto& key : keys) text += (text.empty() ? "" : ",") + key;
  return text;
}

}  // namespace

ConfigReload::ConfigReload(std::string path, config::Config running, Targets targets)
    : path_(std::move(path)), running_(std::move(running)), targets_(targets) {}

void ConfigReload::reload() {
  std::vector<std::shared_ptr<net::Listener>> added;
  config::ConfigChanges changes;
  config::Config next;
  try {
    const config::Config read = config::load_config(path_);
    changes = config::compare_configs(running_, read);
    next = config::keep_running_values(running_, read);
    check_tls(next);
    added = bind_added(next);
  } catch (const std::exception& e) {
    // "postern.yaml:12: limits.max_recipients: expected ..." or "cannot listen on ...: ..."
    log::error("config_reload_failed", {{"error", e.what()}, {"running", "unchanged"}});
    metrics::reload().failures.inc();
    reload_tls();
    return;
  }
  if (!changes.needs_restart.empty()) {
    log::warning("config_needs_restart", {{"file", path_}, {"keys", joined(changes.needs_restart)},
                                          {"running", "the values it started with"}});
  }
  apply(next, std::move(added));
  running_ = std::move(next);
  metrics::reload().successes.inc();
  metrics::reload().last_success.set(static_cast<double>(std::time(nullptr)));
  // Written whatever the log level: whoever sent SIGHUP looks for it.
  log::write(log::Level::Info, "config_reloaded",
             {{"file", path_},
              {"changed", changes.changed.empty() ? "nothing" : joined(changes.changed), log::kWholeValue}});
  reload_tls();
}

// The file may add a tls section and an implicit-TLS listener at once; the section waits for a
// restart, so the listener would have no certificate.
void ConfigReload::check_tls(const config::Config& next) const {
  if (next.tls) return;
  for (const auto& listener : next.listeners) {
    if (listener.tls == config::ListenerTls::Implicit) {
      throw config::ConfigError(path_ + ": listeners: " + config::listener_socket(listener) +
                                ": tls: implicit needs the tls section, which only a restart adds");
    }
  }
}

std::vector<std::shared_ptr<net::Listener>> ConfigReload::bind_added(const config::Config& next) const {
  std::vector<std::shared_ptr<net::Listener>> bound;
  for (const auto& listener : config::plan_listeners(running_.listeners, next.listeners).added) {
    net::SessionSettings settings = session_settings(next, listener);
    if (!listener.path.empty()) {
      bound.push_back(std::make_shared<net::Listener>(targets_.io, listener.path, std::move(settings)));
    } else {
      bound.push_back(
          std::make_shared<net::Listener>(targets_.io, listener.address, listener.port, std::move(settings)));
    }
  }
  return bound;
}

// Each component takes its part; new sessions and attempts read it when they start.
void ConfigReload::apply(const config::Config& next, std::vector<std::shared_ptr<net::Listener>> added) {
  log::set_level(log_level(next));
  targets_.limiter.set_limits(next.max_connections, next.max_connections_per_ip);
  targets_.credentials.reconfigure(argon2_params(next), throttle_limits(next), cache_limits(next),
                                   bearer_settings(next));
  targets_.grants.reconfigure(sender_policy(next), cache_limits(next));
  targets_.limits.set_defaults(sending_defaults(next), std::chrono::seconds{next.auth_cache_seconds});
  const bool policy_changed = next.local_part_case_sensitive != running_.local_part_case_sensitive ||
                              next.subaddress_delimiter != running_.subaddress_delimiter;
  if (policy_changed || upstream_names(next) != upstream_names(running_)) {
    targets_.share_maps.reconfigure(sender_policy(next), upstream_names(next));
  }
  targets_.handlers.reconfigure(next.handlers.handlers, chain_options(next));
  targets_.intake.reconfigure(intake_options(next), sender_policy(next));
  if (targets_.delivery) targets_.delivery->reconfigure(next.delivery);
  if (next.webhooks != running_.webhooks) targets_.webhooks.reconfigure(next.webhooks);
  if (targets_.admin_api) targets_.admin_api->reconfigure(api_settings(next));
  apply_listeners(next, std::move(added));
}

void ConfigReload::apply_listeners(const config::Config& next, std::vector<std::shared_ptr<net::Listener>> added) {
  auto& listeners = targets_.listeners;
  const config::ListenerPlan plan = config::plan_listeners(running_.listeners, next.listeners);
  for (const auto& gone : plan.removed) {
    const std::string name = config::listener_socket(gone);
    auto it = std::find_if(listeners.begin(), listeners.end(), [&](const auto& l) { return l->name() == name; });
    if (it == listeners.end()) continue;
    (*it)->close();  // its sessions finish; its accept loop ends and lets it go
    log::info("listener_removed", {{"listener", name}});
    listeners.erase(it);
  }
  // Every kept listener: the limits its sessions share may have changed too.
  for (const auto& listener : next.listeners) {
    const std::string name = config::listener_socket(listener);
    auto it = std::find_if(listeners.begin(), listeners.end(), [&](const auto& l) { return l->name() == name; });
    if (it != listeners.end()) (*it)->reconfigure(session_settings(next, listener));
  }
  for (auto& listener : added) {
    listener->start(targets_.limiter, targets_.services);
    log::info("listener_added", {{"listener", listener->name()}});
    listeners.push_back(std::move(listener));
  }
}

void ConfigReload::reload_tls() {
  if (!targets_.tls || !running_.tls) return;
  try {
    targets_.tls->reload();
    log::info("tls_reloaded", {{"certificate", running_.tls->certificate_file}});
  } catch (const std::exception& e) {
    log::error("tls_reload_failed", {{"error", e.what()}});
  }
}

}  // namespace postern::daemon
