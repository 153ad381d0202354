// See daemon.hpp.
#include "server/daemon/daemon.hpp"

#include "server/auth/credential_check.hpp"
#include "server/daemon/signals.hpp"
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
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <unistd.h>

namespace postern::daemon {

namespace {

log::Level to_log_level(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::Debug: return log::Level::Debug;
    case config::LogLevel::Info: return log::Level::Info;
    case config::LogLevel::Warning: return log::Level::Warning;
    case config::LogLevel::Error: return log::Level::Error;
  }
  return log::Level::Info;
}

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

auth::FailureThrottle::Limits throttle_limits(const config::Config& config) {
  auth::FailureThrottle::Limits limits;
  limits.window = std::chrono::seconds{config.auth_failure_window_seconds};
  limits.per_network = config.auth_failures_per_network;
  limits.per_user_network = config.auth_failures_per_user_network;
  limits.failure_delay = std::chrono::milliseconds{config.auth_failure_delay_ms};
  limits.user_delay = std::chrono::milliseconds{config.auth_user_delay_ms};
  limits.checks_per_user = config.auth_checks_per_user;
  limits.known_network_for = std::chrono::hours{24 * config.auth_known_network_days};
  return limits;
}

// Checks the spool directory now: a missing or read-only one stops the start, naming the key,
// instead of failing every large message later.
queue::IntakeOptions intake_options(const config::Config& config) {
  queue::IntakeOptions options;
  options.hostname = config.hostname;
  options.check_header_from = config.check_header_from;
  options.add_message_id = config.add_message_id;
  options.add_date = config.add_date;
  options.add_received = config.add_received;
  options.add_x_peer = config.add_x_peer;
  options.received_shows_user = config.received_shows_user;
  options.refuse_address_like_display_names = config.refuse_address_like_display_names;
  options.spool.directory = config.spool_directory;
  options.delivery = config.delivery;
  try {
    queue::check_spool_directory(options.spool);
  } catch (const queue::SpoolError& e) {
    throw std::runtime_error(std::string("queue.spool_directory: ") + e.what());
  }
  return options;
}

// The upstreams share maps may name: the relay's own.
std::vector<std::string> upstream_names(const config::Config& config) {
  std::vector<std::string> names;
  for (const auto& upstream : config.delivery.upstreams) names.push_back(upstream.name);
  return names;
}

std::optional<auth::BearerSettings> bearer_settings(const config::Config& config) {
  if (!config.oauth) return std::nullopt;
  return auth::BearerSettings{config.oauth->keys, config.oauth->policy, config.oauth->user_claim};
}

UserCacheLimits cache_limits(const config::Config& config) {
  return {std::chrono::seconds{config.auth_cache_seconds}, config.auth_cache_entries};
}

// 0 in postern.yaml: no limit.
std::optional<std::int64_t> limit(std::uint64_t configured) {
  if (configured == 0) return std::nullopt;
  return static_cast<std::int64_t>(std::min<std::uint64_t>(configured, INT64_MAX));
}

policy::SendingLimits::Options sending_limits_options(const config::Config& config, std::string replica) {
  policy::SendingLimits::Options options;
  options.defaults = {limit(config.messages_per_hour), limit(config.messages_per_day),
                      limit(config.recipients_per_hour), limit(config.recipients_per_day)};
  options.windows = {config.limit_hour_seconds, config.limit_day_seconds};
  options.sync_interval = std::chrono::milliseconds{config.limit_sync_milliseconds};
  options.cache_ttl = std::chrono::seconds{config.auth_cache_seconds};
  options.replica = std::move(replica);
  return options;
}

schema::SenderPolicy sender_policy(const config::Config& config) {
  return schema::SenderPolicy{config.local_part_case_sensitive, config.subaddress_delimiter};
}

queue::ChainOptions chain_options(const config::Config& config, const queue::IntakeOptions& intake) {
  return {sender_policy(config), intake.spool, config.max_message_size};
}

// A listener's own settings on top of what every session shares: its TLS mode, and whether it
// takes submission, inbound or LMTP mail.
net::SessionSettings listener_settings(net::SessionSettings settings, const config::ListenerConfig& listener) {
  using Service = smtp::ProtocolOptions::Service;
  settings.implicit_tls = listener.tls == config::ListenerTls::Implicit;
  settings.allow_plaintext_auth_on_loopback = listener.allow_plaintext_auth_on_loopback;
  if (listener.kind == config::ListenerKind::Lmtp) {
    settings.intake = queue::Intake::Lmtp;
    settings.protocol.service = Service::Lmtp;
    settings.offer_tls = false;  // LMTP stays on loopback or a unix socket, in clear
  } else if (listener.role == config::ListenerRole::Inbound) {
    settings.intake = queue::Intake::Inbound;
    settings.protocol.service = Service::Inbound;
  }
  settings.accept_domains = listener.accept_domains;
  settings.dsn = listener.dsn;
  return settings;
}

// What every session shares; each listener sets its own TLS mode on a copy.
net::SessionSettings session_settings(const config::Config& config) {
  net::SessionSettings settings;
  settings.protocol.hostname = config.hostname;
  settings.protocol.max_message_size = config.max_message_size;
  settings.protocol.max_recipients = config.max_recipients;
  settings.protocol.max_errors = static_cast<int>(config.max_errors);
  settings.protocol.max_idle_commands = static_cast<int>(config.max_idle_commands);
  settings.protocol.check_recipients = true;  // against the share maps
  settings.protocol.offer_oauth = config.oauth.has_value();
  if (config.oauth) settings.protocol.oauth_scope = config.oauth->scope;
  settings.command_timeout = std::chrono::seconds{config.command_timeout_seconds};
  settings.data_timeout = std::chrono::seconds{config.data_timeout_seconds};
  settings.auth_timeout = std::chrono::seconds{config.auth_timeout_seconds};
  settings.session_timeout = std::chrono::seconds{config.session_timeout_seconds};
  return settings;
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
  explicit State(const config::Config& cfg);

  void bind_listeners();
  void start_listeners();
  void start_notifications();
  void user_changed(const std::string& user);  // a payload of schema::kUserChannel

  config::Config config;
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
  std::vector<std::unique_ptr<net::Listener>> listeners;
  Signals signals;
  std::atomic<bool> listening{false};  // the accept loops run
  std::unique_ptr<delivery::MessageDelivery> delivery;
  std::unique_ptr<delivery::DeliveryScheduler> scheduler;
  std::unique_ptr<NotificationListener> notifications;  // new mail, changed share maps
  std::unique_ptr<http::DatabaseStatus> database_status;  // for the HTTP endpoint
  std::unique_ptr<http::HttpServer> http_server;
};

Daemon::State::State(const config::Config& cfg)
    : config(cfg),
      io_threads(cfg.io_threads ? cfg.io_threads : usable_cpus()),
      hash_threads(hashing_threads(cfg)),
      pool(pool_options(cfg)),
      hashing(hashing_options(cfg, hash_threads)),
      owner(this_boot(cfg)),
      credentials(pool, hashing, schema::Argon2Params{cfg.argon2_memory_kib, cfg.argon2_iterations}, throttle_limits(cfg),
                  cache_limits(cfg), bearer_settings(cfg)),
      grants(pool, sender_policy(cfg), cache_limits(cfg)),
      intake_settings(intake_options(cfg)),
      handlers(cfg.handlers, chain_options(cfg, intake_settings)),
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
  bind_listeners();
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
  const net::SessionSettings shared = session_settings(config);
  for (const auto& listener : config.listeners) {
    const net::SessionSettings settings = listener_settings(shared, listener);
    if (!listener.path.empty()) {
      listeners.push_back(std::make_unique<net::Listener>(io, listener.path, settings));
    } else {
      listeners.push_back(std::make_unique<net::Listener>(io, listener.address, listener.port, settings));
    }
  }
}

void Daemon::State::start_listeners() {
  for (auto& listener : listeners) {
    listener->start(limiter, services);
    const auto& settings = listener->settings();
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

Daemon::Daemon(const config::Config& config) {
  log::set_level(to_log_level(config.log_level));
  state_ = std::make_unique<State>(config);
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
  s.start_notifications();
  log::info("started", {{"config", config::describe(s.config), log::kWholeValue},
                        {"io_threads", std::to_string(s.io_threads)},
                        {"hash_threads", std::to_string(s.hash_threads)},
                        {"delivery", s.scheduler ? "on" : "off"}});
  s.signals.watch({s.listeners, s.registry, s.tls.get(), s.config.tls ? s.config.tls->certificate_file : "",
                   s.scheduler.get(), s.delivery.get(), s.config.oauth ? s.config.oauth->keys.get() : nullptr,
                   std::chrono::seconds{s.config.shutdown_grace_seconds}});
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < s.io_threads; ++i) threads.emplace_back([&s] { s.io.run(); });
  s.io.run();
  for (auto& t : threads) t.join();
  s.notifications.reset();
  if (s.database_status) s.database_status->stop();
  s.handlers.stop();
  s.hashing.stop();
  s.pool.stop();
  log::info("stopped");
  return 0;
}

}  // namespace postern::daemon
