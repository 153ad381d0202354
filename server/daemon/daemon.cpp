// See daemon.hpp.
#include "server/daemon/daemon.hpp"

#include "server/admin/admin_server.hpp"
#include "server/auth/credential_check.hpp"
#include "server/daemon/component_settings.hpp"
#include "server/daemon/config_reload.hpp"
#include "server/daemon/signals.hpp"
#include "postern/schema/dkim_keys.hpp"
#include "server/delivery/message_delivery.hpp"
#include "server/http/database_status.hpp"
#include "server/http/http_server.hpp"
#include "server/net/connection_limiter.hpp"
#include "server/net/listener.hpp"
#include "server/net/session.hpp"
#include "server/net/session_registry.hpp"
#include "server/net/tls_context.hpp"
#include "server/policy/grant_check.hpp"
#include "server/policy/sending_limits.hpp"
#include "server/sharing/share_map_cache.hpp"
#include "server/delivery/delivery_scheduler.hpp"
#include "server/queue/handler_chain.hpp"
#include "server/queue/message_intake.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/notification_listener.hpp"
#include "server/runtime/cpu_quota.hpp"
#include "server/runtime/log.hpp"
#include "server/webhooks/webhook_dispatcher.hpp"

#include "postern/schema/queue_store.hpp"
#include "postern/schema/sending_limits.hpp"
#include "postern/schema/share_maps.hpp"

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <unistd.h>

namespace postern::daemon {

namespace {

BlockingPool::Options pool_options(const config::Config& config) {
  BlockingPool::Options options;
  options.database_url = config.database_url;
  options.threads = config.database_pool_size;
  options.statement_timeout_seconds = config.database_timeout_seconds;
  options.wait_timeout = std::chrono::seconds{config.database_wait_timeout_seconds};
  options.on_connect = [](schema::Store& store) { schema::prepare_queue_statements(store.connection()); };
  return options;
}

// Argon2 threads: auth.hash_threads, else the CPUs the cgroup quota grants (in a pod, not the
// node's cores). Each running hash holds argon2_memory_kib; waiting ones hold nothing.
unsigned hashing_threads(const config::Config& config) {
  return config.auth_hash_threads ? config.auth_hash_threads : usable_cpus();
}

// A full queue answers 454 at once, so a flood of logins cannot pile up behind the hashes.
BlockingPool::Options hashing_options(const config::Config& config, unsigned threads) {
  BlockingPool::Options options;
  options.database_url = config.database_url;  // never used: hashing work does not call store()
  options.threads = threads;
  options.max_waiting = config.auth_hash_queue ? config.auth_hash_queue : 32 * std::size_t{threads};
  options.wait_timeout = std::chrono::seconds{config.database_wait_timeout_seconds};
  return options;
}

// Checks the spool directory now: a missing or read-only one stops the start, naming the key,
// instead of failing every large message later.
queue::IntakeOptions checked_intake_options(const config::Config& config) {
  queue::IntakeOptions options = intake_options(config);
  try {
    queue::check_spool_directory(options.spool);
  } catch (const queue::SpoolError& e) {
    throw std::runtime_error(std::string("queue.spool_directory: ") + e.what());
  }
  return options;
}

// Names this process's leases in the queue. The identity outlives the process: in Kubernetes the
// pod name (POD_NAME, from the downward API), which a container restarted in its pod keeps;
// elsewhere the host name and the first listener's port, which two replicas on one host cannot
// share (the same identity would make each one's start release the other's live claims). The
// boot id is new at every start, so the next boot tells its dead predecessor's leases from its
// own and releases them (DeliveryScheduler).
schema::LeaseOwner this_boot(const config::Config& config) {
  schema::LeaseOwner owner;
  if (const char* pod = std::getenv("POD_NAME"); pod != nullptr && *pod != '\0') {
    owner.identity = pod;
  } else {
    char host[256] = {};
    owner.identity = gethostname(host, sizeof host - 1) == 0 && host[0] != '\0' ? host : "postern";
    if (!config.listeners.empty()) owner.identity += ":" + std::to_string(config.listeners.front().port);
  }
  std::replace(owner.identity.begin(), owner.identity.end(), '/', '_');  // '/' ends the identity
  std::random_device random;
  char boot_id[17];
  std::snprintf(boot_id, sizeof boot_id, "%08x%08x", random(), random());
  owner.boot_id = boot_id;
  return owner;
}

}  // namespace

// Declared in the order of construction; destroyed in reverse, the io_context after all that
// waits on it. The io_context goes before what the sessions use (services, registry, limiter,
// ...): its destructor destroys the frames of sessions still suspended in it (those cut off past
// the grace period), and their destructors unregister from the registry and free limiter slots.
struct Daemon::State {
  State(const config::Config& cfg, const std::string& config_path);

  void bind_listeners();
  void start_listeners();
  void start_notifications();
  void user_changed(const std::string& user);  // a payload of schema::kUserChannel

  config::Config config;  // as started: a reload never changes it (ConfigReload keeps its own)
  unsigned io_threads;
  unsigned hash_threads;
  BlockingPool pool;
  BlockingPool hashing;  // Argon2 only: one thread per usable CPU, never a database connection
  std::unique_ptr<net::TlsContext> tls;
  schema::LeaseOwner owner;  // this process: its queue leases and its rows of sending counts
  auth::CredentialCheck credentials;
  policy::GrantCheck grants;
  queue::IntakeOptions intake_settings;
  queue::HandlerChain handlers;  // its command pool runs only when a handler has a command
  queue::MessageIntake intake;
  net::ConnectionLimiter limiter;
  net::SessionRegistry registry;
  // share_maps and limits are bound here (share_maps in intake too) and built after io (they work
  // on io's executor);
  // sessions use it only while io runs.
  net::SessionServices services{credentials, grants, limits, intake, share_maps, nullptr, registry};
  boost::asio::io_context io;
  sharing::ShareMapCache share_maps;
  policy::SendingLimits limits;
  std::vector<std::shared_ptr<net::Listener>> listeners;
  std::optional<ConfigReload> reload;  // made once the listeners and delivery exist
  Signals signals;
  std::atomic<bool> listening{false};  // the accept loops run
  std::unique_ptr<delivery::MessageDelivery> delivery;
  std::unique_ptr<delivery::DeliveryScheduler> scheduler;
  // Always made (a reload may add endpoints); without endpoints it does nothing at all.
  std::unique_ptr<webhooks::WebhookDispatcher> webhook_dispatcher;
  std::unique_ptr<NotificationListener> notifications;  // new mail, changed share maps
  std::unique_ptr<http::DatabaseStatus> database_status;  // for the HTTP endpoint
  std::unique_ptr<http::HttpServer> http_server;
  std::unique_ptr<admin::AdminServer> admin_api;  // admin_api: in postern.yaml
};

Daemon::State::State(const config::Config& cfg, const std::string& config_path)
    : config(cfg),
      io_threads(cfg.io_threads ? cfg.io_threads : usable_cpus()),
      hash_threads(hashing_threads(cfg)),
      pool(pool_options(cfg)),
      hashing(hashing_options(cfg, hash_threads)),
      owner(this_boot(cfg)),
      credentials(pool, hashing, argon2_params(cfg), throttle_limits(cfg), cache_limits(cfg), bearer_settings(cfg)),
      grants(pool, sender_policy(cfg), cache_limits(cfg)),
      intake_settings(checked_intake_options(cfg)),
      handlers(cfg.handlers, chain_options(cfg)),
      intake(pool, share_maps, handlers, intake_settings, sender_policy(cfg)),
      limiter(cfg.max_connections, cfg.max_connections_per_ip),
      io(static_cast<int>(io_threads)),
      share_maps(io.get_executor(), pool, sender_policy(cfg), upstream_names(cfg)),
      limits(io.get_executor(), pool, sending_limits_options(cfg, owner.text())),
      signals(io) {
  if (cfg.tls) tls = std::make_unique<net::TlsContext>(cfg.tls->certificate_file, cfg.tls->key_file);
  services.tls = tls.get();
  if (!cfg.delivery.upstreams.empty()) {
    delivery = std::make_unique<delivery::MessageDelivery>(io.get_executor(), pool, share_maps, cfg.delivery,
                                                           cfg.hostname, owner.text());
    scheduler = std::make_unique<delivery::DeliveryScheduler>(io, pool, *delivery, config.delivery, owner);
  }
  webhook_dispatcher = std::make_unique<webhooks::WebhookDispatcher>(io, pool, cfg.webhooks, owner);
  bind_listeners();
  if (cfg.admin_api) {
    admin_api = std::make_unique<admin::AdminServer>(io, *cfg.admin_api, api_settings(cfg));
  }
  reload.emplace(config_path, cfg,
                 ConfigReload::Targets{io, listeners, limiter, services, credentials, grants, limits, share_maps,
                                       handlers, intake, delivery.get(), *webhook_dispatcher, tls.get(),
                                       admin_api.get()});
  if (cfg.http.port != 0) {
    // Ready only while the listeners accept: 503 from the first moment of a drain.
    database_status = std::make_unique<http::DatabaseStatus>(io, pool_options(cfg),
                                                             std::chrono::seconds{cfg.http.database_check_seconds});
    http_server = std::make_unique<http::HttpServer>(io, cfg.http, *database_status, [this]() -> std::string {
      if (signals.draining()) return "draining";
      if (!listening) return "not listening";
      return "";
    });
  }
}

void Daemon::State::bind_listeners() {
  for (const auto& listener : config.listeners) {
    net::SessionSettings settings = session_settings(config, listener);
    if (!listener.path.empty()) {
      listeners.push_back(std::make_shared<net::Listener>(io, listener.path, std::move(settings)));
    } else {
      listeners.push_back(std::make_shared<net::Listener>(io, listener.address, listener.port, std::move(settings)));
    }
  }
}

void Daemon::State::start_listeners() {
  for (auto& listener : listeners) {
    listener->start(limiter, services);
    const auto& settings = *listener->settings();
    log::info("listening", {{"listener", listener->name()}, {"intake", queue::intake_name(settings.intake)},
                            {"tls", settings.implicit_tls             ? "implicit"
                                    : (tls && settings.offer_tls)     ? "starttls"
                                                                      : "none"},
                            {"plaintext_auth_on_loopback", settings.allow_plaintext_auth_on_loopback ? "yes" : "no"}});
  }
  listening = true;
}

// The share maps load when the listener connects; the scheduler wakes on new mail; the caches
// of users drop a user that changed, and keep nothing while the listener cannot hear PostgreSQL.
void Daemon::State::start_notifications() {
  std::vector<NotificationListener::Subscription> subscriptions{
      {schema::kShareMapChannel, [this](const std::string&) { share_maps.reload(); }},
      {schema::kUserChannel, [this](const std::string& user) { user_changed(user); },
       [this] {
         credentials.cache().entries().set_listening(false);
         grants.cache().set_listening(false);
         limits.set_listening(false);
       }}};
  if (scheduler) {
    scheduler->start();
    subscriptions.push_back({schema::kQueueChannel, [this](const std::string&) { scheduler->wake(); }});
    subscriptions.push_back({schema::kDkimKeyChannel, [this](const std::string&) { delivery->dkim_keys_changed(); }});
  }
  limits.start();
  notifications = std::make_unique<NotificationListener>(config.database_url, std::move(subscriptions));
}

void Daemon::State::user_changed(const std::string& user) {
  if (user == NotificationListener::kConnected) {
    credentials.cache().entries().set_listening(true);
    grants.cache().set_listening(true);
    limits.set_listening(true);
  } else if (user == schema::kAllUsers) {
    credentials.cache().entries().invalidate_all();
    grants.cache().invalidate_all();
    limits.invalidate_all();
  } else {
    credentials.cache().entries().invalidate(user);
    grants.cache().invalidate(user);
    limits.invalidate(user);
  }
}

Daemon::Daemon(const config::Config& config, const std::string& config_path) {
  log::set_level(log_level(config));
  state_ = std::make_unique<State>(config, config_path);
}

Daemon::~Daemon() = default;

int Daemon::run() {
  auto& s = *state_;
  s.start_listeners();
  if (s.http_server) {
    s.database_status->start();
    s.http_server->start();
    log::info("http_listening", {{"address", s.http_server->name()}});
  }
  if (s.admin_api) {
    s.admin_api->start();
    log::info("admin_api_listening", {{"address", s.admin_api->name()}});
  }
  s.start_notifications();
  s.webhook_dispatcher->start();
  log::info("started", {{"config", config::describe(s.config), log::kWholeValue},
                        {"io_threads", std::to_string(s.io_threads)},
                        {"hash_threads", std::to_string(s.hash_threads)},
                        {"delivery", s.scheduler ? "on" : "off"}});
  s.signals.watch({s.listeners, s.registry, [&s] { s.reload->reload(); }, s.scheduler.get(), s.delivery.get(),
                   *s.webhook_dispatcher, std::chrono::seconds{s.config.shutdown_grace_seconds}});
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < s.io_threads; ++i) threads.emplace_back([&s] { s.io.run(); });
  s.io.run();
  for (auto& t : threads) t.join();
  s.notifications.reset();
  if (s.database_status) s.database_status->stop();
  if (s.admin_api) s.admin_api->stop();
  s.handlers.stop();
  s.hashing.stop();
  s.pool.stop();
  log::info("stopped");
  return 0;
}

}  // namespace postern::daemon
