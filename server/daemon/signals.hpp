// How the daemon answers signals. SIGHUP reloads postern.yaml and the TLS certificate and key
// (config_reload.hpp; what fails to load keeps what runs). SIGTERM or SIGINT drains, as a pod's termination needs: the
// listeners stop accepting, the delivery scheduler and the webhook dispatcher stop, and
// the io_context stops once the open sessions have ended, the deliveries in flight have been
// recorded and the webhook posts in flight have ended (each within webhooks.timeout_seconds).
// Past the grace period the sessions are cut off, and 5 s later the io_context stops
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
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace postern::delivery { class MessageDelivery; }
namespace postern::net {
class Listener;
class SessionRegistry;
}  // namespace postern::net
namespace postern::delivery {
class DeliveryScheduler;
}  // namespace postern::delivery
namespace postern::webhooks { class WebhookDispatcher; }

namespace postern::daemon {

class Signals {
 public:
  // What the signals act on; everything here outlives the io_context's run.
  struct Targets {
    std::vector<std::shared_ptr<net::Listener>>& listeners;  // as the last reload left them
    net::SessionRegistry& sessions;
    std::function<void()> reload;                            // SIGHUP; never runs during a drain
    delivery::DeliveryScheduler* scheduler;                    // null: delivery is off
    delivery::MessageDelivery* delivery;                    // null: delivery is off
    webhooks::WebhookDispatcher& webhooks;                  // idle without endpoints
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
