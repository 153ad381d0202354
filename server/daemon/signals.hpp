// How the daemon answers signals. SIGHUP reloads the TLS certificate and key and the OAuth JWK
// Set (a file that fails to load keeps the old ones). SIGTERM or SIGINT drains, as a pod's termination needs: the
// listeners stop accepting, the delivery scheduler stops, and
// the io_context stops once the open sessions have ended and the deliveries in flight have been
// recorded. Past the grace period the sessions are cut off, and 5 s later the io_context stops
// whatever still runs (a delivery that loses its lease is taken over by another replica).
//
//   Signals signals{io};                // from here on, the signals no longer kill the process
//   signals.watch({listeners, ...});    // from here on, they are answered
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace postern::delivery { class MessageDelivery; }
namespace postern::net {
class Listener;
class SessionRegistry;
class TlsContext;
}  // namespace postern::net
namespace postern::delivery {
class DeliveryScheduler;
}  // namespace postern::delivery
namespace postern::oauth { class KeySet; }

namespace postern::daemon {

class Signals {
 public:
  // What the signals act on; everything here outlives the io_context's run.
  struct Targets {
    std::vector<std::unique_ptr<net::Listener>>& listeners;
    net::SessionRegistry& sessions;
    net::TlsContext* tls;                                   // null: no TLS, SIGHUP does nothing
    std::string certificate_file;                           // for the log of a reload
    delivery::DeliveryScheduler* scheduler;                    // null: delivery is off
    delivery::MessageDelivery* delivery;                    // null: delivery is off
    oauth::KeySet* oauth_keys;                              // null: no oauth section
    std::chrono::seconds grace;
  };

  // Catches SIGTERM, SIGINT and SIGHUP from now on; they wait until watch().
  explicit Signals(boost::asio::io_context& io);

  // Answers the signals until a drain begins. Call once, before the io_context runs.
  void watch(Targets targets);

  // True from the first moment of a drain (readiness turns 503 then).
  bool draining() const { return draining_; }

 private:
  void wait();
  void reload_tls();
  void reload_oauth_keys();
  void drain(const char* signal_name);
  void one_stopped();

  boost::asio::io_context& io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer grace_timer_;
  std::optional<Targets> targets_;
  std::atomic<bool> draining_{false};
  int pending_stops_ = 0;  // on the io_context
};

}  // namespace postern::daemon
