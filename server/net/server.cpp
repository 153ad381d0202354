// See server.hpp.
#include "server/net/server.hpp"

#include "server/auth/credential_check.hpp"
#include "server/delivery/message_delivery.hpp"
#include "server/http/http_server.hpp"
#include "server/net/connection_limiter.hpp"
#include "server/net/session.hpp"
#include "server/net/session_registry.hpp"
#include "server/net/tls_context.hpp"
#include "server/policy/grant_check.hpp"
#include "server/queue/delivery_scheduler.hpp"
#include "server/queue/message_intake.hpp"
#include "server/queue/queue_listener.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/log.hpp"

#include "postern/schema/queue_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <random>
#include <thread>
#include <unistd.h>

namespace postern::net {
namespace asio = boost::asio;
using asio::ip::tcp;

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
  options.on_connect = [](schema::Store& store) { schema::prepare_queue_statements(store.connection()); };
  return options;
}

BlockingPool::Options hashing_options(const config::Config& config, unsigned threads) {
  BlockingPool::Options options;
  options.database_url = config.database_url;  // never used: hashing work does not call store()
  options.threads = threads;
  return options;
}

auth::FailureThrottle::Limits throttle_limits(const config::Config& config) {
  auth::FailureThrottle::Limits limits;
  limits.per_address = config.auth_failures_per_ip;
  limits.per_user = config.auth_failures_per_user;
  limits.window = std::chrono::seconds{config.auth_failure_window_seconds};
  limits.base_delay = std::chrono::milliseconds{config.auth_failure_delay_ms};
  limits.max_delay = limits.base_delay * 10;
  return limits;
}

// Names this replica's leases in the queue: host, process and a random part, so a restarted
// process never mistakes an old lease for its own.
std::string replica_name(const std::string& hostname) {
  std::random_device random;
  return hostname + "/" + std::to_string(getpid()) + "/" + std::to_string(random() % 100000);
}

}  // namespace

struct Server::State {
  explicit State(const config::Config& cfg)
      : config(cfg),
        io_threads(cfg.io_threads ? cfg.io_threads : std::max(1u, std::thread::hardware_concurrency())),
        io(static_cast<int>(io_threads)),
        pool(pool_options(cfg)),
        hashing(hashing_options(cfg, io_threads)),
        credentials(pool, hashing, schema::Argon2Params{cfg.argon2_memory_kib, cfg.argon2_iterations}, throttle_limits(cfg)),
        grants(pool, schema::SenderPolicy{cfg.local_part_case_sensitive, cfg.subaddress_delimiter}),
        intake(pool,
               queue::IntakeOptions{cfg.hostname, cfg.check_header_from, cfg.add_message_id, cfg.add_date,
                                    cfg.add_received, cfg.add_x_peer},
               schema::SenderPolicy{cfg.local_part_case_sensitive, cfg.subaddress_delimiter}),
        limiter(cfg.max_connections, cfg.max_connections_per_ip),
        signals(io, SIGTERM, SIGINT, SIGHUP),
        grace_timer(io) {
    if (cfg.tls) tls = std::make_unique<TlsContext>(cfg.tls->certificate_file, cfg.tls->key_file);
    services.tls = tls.get();
    if (!cfg.delivery.upstreams.empty()) {
      delivery = std::make_unique<delivery::MessageDelivery>(io.get_executor(), pool, cfg.delivery,
                                                             cfg.hostname, replica_name(cfg.hostname));
      scheduler = std::make_unique<queue::DeliveryScheduler>(io, pool, *delivery, config.delivery);
    }
    settings.protocol.hostname = cfg.hostname;
    settings.protocol.max_message_size = cfg.max_message_size;
    settings.protocol.max_recipients = cfg.max_recipients;
    settings.protocol.max_errors = static_cast<int>(cfg.max_errors);
    settings.command_timeout = std::chrono::seconds{cfg.command_timeout_seconds};
    settings.data_timeout = std::chrono::seconds{cfg.data_timeout_seconds};
    for (const auto& listener : cfg.listeners) {
      tcp::endpoint endpoint{asio::ip::make_address(listener.address), listener.port};
      tcp::acceptor acceptor{io};
      boost::system::error_code ec;
      acceptor.open(endpoint.protocol(), ec);
      if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec) acceptor.bind(endpoint, ec);
      if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        throw std::runtime_error("cannot listen on " + listener.address + ":" +
                                 std::to_string(listener.port) + ": " + ec.message());
      }
      SessionSettings s = settings;
      s.implicit_tls = listener.tls == config::ListenerTls::Implicit;
      s.allow_plaintext_auth_on_loopback = listener.allow_plaintext_auth_on_loopback;
      listeners.push_back({std::move(acceptor), s, listener.address + ":" + std::to_string(listener.port)});
    }
    if (cfg.http.port != 0) {
      // Ready only while the listeners accept: 503 from the first moment of a drain.
      http_server = std::make_unique<http::HttpServer>(io, cfg.http, pool, [this]() -> std::string {
        if (draining) return "draining";
        if (!listening) return "not listening";
        return "";
      });
    }
  }

  struct Listener {
    tcp::acceptor acceptor;
    SessionSettings settings;
    std::string name;
  };

  asio::awaitable<void> accept_loop(Listener& listener) {
    for (;;) {
      boost::system::error_code ec;
      auto strand = asio::make_strand(io);
      tcp::socket socket = co_await listener.acceptor.async_accept(strand, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (!listener.acceptor.is_open() || draining) co_return;
        log::warning("accept_failed", {{"listener", listener.name}, {"error", ec.message()}});
        // Out of file descriptors and the like: back off instead of spinning.
        asio::steady_timer pause{io, std::chrono::milliseconds{100}};
        co_await pause.async_wait(asio::use_awaitable);
        continue;
      }
      boost::system::error_code peer_ec;
      auto peer = socket.remote_endpoint(peer_ec);
      std::string address = peer_ec ? "unknown" : peer.address().to_string();
      auto slot = limiter.acquire(address);
      if (!slot) {
        asio::co_spawn(strand, refuse_session(std::move(socket), "connection limit"), asio::detached);
        continue;
      }
      asio::co_spawn(strand, run_session(std::move(socket), listener.settings, services, std::move(*slot)),
                     [](std::exception_ptr error) {
                       if (!error) return;
                       try {
                         std::rethrow_exception(error);
                       } catch (const std::exception& e) {
                         log::error("session_failed", {{"error", e.what()}});
                       }
                     });
    }
  }

  void wait_for_signal() {
    signals.async_wait([this](boost::system::error_code ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        reload_tls();
        wait_for_signal();
        return;
      }
      drain(signal == SIGTERM ? "SIGTERM" : "SIGINT");
    });
  }

  void reload_tls() {
    if (!tls) return;
    try {
      tls->reload();
      log::info("tls_reloaded", {{"certificate", config.tls->certificate_file}});
    } catch (const std::exception& e) {
      log::error("tls_reload_failed", {{"error", e.what()}});
    }
  }

  // Stop accepting; sessions finish on their own or are cut off after the grace period.
  void drain(const char* why) {
    if (draining.exchange(true)) return;
    log::info("draining", {{"signal", why}, {"sessions", std::to_string(registry.size())},
                           {"grace_seconds", std::to_string(config.shutdown_grace_seconds)}});
    for (auto& listener : listeners) {
      boost::system::error_code ignored;
      listener.acceptor.close(ignored);
    }
    signals.cancel();
    // Done when the sessions have ended and the deliveries in flight have been recorded.
    pending_stops = scheduler ? 2 : 1;
    registry.on_empty([this] { asio::post(io, [this] { one_stopped(); }); });
    if (scheduler) {
      listener.reset();
      scheduler->stop([this] { asio::post(io, [this] { one_stopped(); }); });
    }
    grace_timer.expires_after(std::chrono::seconds{config.shutdown_grace_seconds});
    grace_timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      log::warning("grace_period_over", {{"sessions", std::to_string(registry.size())},
                                         {"deliveries", std::to_string(scheduler ? scheduler->in_flight() : 0)}});
      registry.abort_all();
      // Deliveries still running lose their lease and another replica takes them over.
      grace_timer.expires_after(std::chrono::seconds{5});
      grace_timer.async_wait([this](boost::system::error_code again) {
        if (!again) io.stop();
      });
    });
  }

  void one_stopped() {
    if (--pending_stops > 0) return;
    if (delivery) delivery->close_idle();
    grace_timer.cancel();
    io.stop();
  }

  config::Config config;
  unsigned io_threads;
  asio::io_context io;
  BlockingPool pool;
  BlockingPool hashing;  // Argon2 only: one thread per core, never a database connection
  std::unique_ptr<TlsContext> tls;
  auth::CredentialCheck credentials;
  policy::GrantCheck grants;
  queue::MessageIntake intake;
  ConnectionLimiter limiter;
  SessionRegistry registry;
  SessionServices services{credentials, grants, intake, nullptr, registry};
  SessionSettings settings;
  std::vector<Listener> listeners;
  asio::signal_set signals;
  asio::steady_timer grace_timer;
  std::atomic<bool> draining{false};
  std::atomic<bool> listening{false};  // the accept loops run
  int pending_stops = 0;  // on the io_context
  std::unique_ptr<delivery::MessageDelivery> delivery;
  std::unique_ptr<queue::DeliveryScheduler> scheduler;
  std::unique_ptr<queue::QueueListener> listener;
  std::unique_ptr<http::HttpServer> http_server;
};

Server::Server(const config::Config& config) {
  log::set_level(to_log_level(config.log_level));
  state_ = std::make_unique<State>(config);
}

Server::~Server() = default;

int Server::run() {
  auto& s = *state_;
  for (auto& listener : s.listeners) {
    asio::co_spawn(s.io, s.accept_loop(listener), asio::detached);
    log::info("listening", {{"listener", listener.name},
                            {"tls", listener.settings.implicit_tls ? "implicit" : (s.tls ? "starttls" : "none")},
                            {"plaintext_auth_on_loopback", listener.settings.allow_plaintext_auth_on_loopback ? "yes" : "no"}});
  }
  s.listening = true;
  if (s.http_server) {
    s.http_server->start();
    log::info("http_listening", {{"address", s.http_server->name()}});
  }
  if (s.scheduler) {
    s.scheduler->start();
    s.listener = std::make_unique<queue::QueueListener>(s.config.database_url, [&s] { s.scheduler->wake(); });
  }
  log::info("started", {{"config", config::describe(s.config)}, {"io_threads", std::to_string(s.io_threads)},
                        {"delivery", s.scheduler ? "on" : "off"}});
  s.wait_for_signal();
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < s.io_threads; ++i) threads.emplace_back([&s] { s.io.run(); });
  s.io.run();
  for (auto& t : threads) t.join();
  s.listener.reset();
  s.hashing.stop();
  s.pool.stop();
  log::info("stopped");
  return 0;
}

}  // namespace postern::net
