// See signals.hpp.
#include "server/daemon/signals.hpp"

#include "server/delivery/message_delivery.hpp"
#include "server/net/listener.hpp"
#include "server/net/session_registry.hpp"
#include "server/delivery/delivery_scheduler.hpp"
#include "server/runtime/log.hpp"
#include "server/webhooks/webhook_dispatcher.hpp"

#include <boost/asio/post.hpp>

#include <csignal>
#include <utility>

namespace postern::daemon {
namespace asio = boost::asio;

Signals::Signals(asio::io_context& io) : io_(io), signals_(io, SIGTERM, SIGINT, SIGHUP), grace_timer_(io) {}

void Signals::watch(Targets targets) {
  targets_.emplace(std::move(targets));
  wait();
}

void Signals::wait() {
  signals_.async_wait([this](boost::system::error_code ec, int signal) {
    if (ec) return;
    if (signal == SIGHUP) {
      // One signal at a time: a reload and a drain never run together.
      targets_->reload();
      wait();
      return;
    }
    drain(signal == SIGTERM ? "SIGTERM" : "SIGINT");
  });
}

// Stop accepting; sessions finish on their own or are cut off after the grace period.
void Signals::drain(const char* signal_name) {
  if (draining_.exchange(true)) return;
  auto& targets = *targets_;
  log::info("draining", {{"signal", signal_name}, {"sessions", std::to_string(targets.sessions.size())},
                         {"grace_seconds", std::to_string(targets.grace.count())}});
  for (auto& listener : targets.listeners) listener->close();
  signals_.cancel();
  // Done when the sessions have ended, the deliveries in flight have been recorded and the
  // webhook posts in flight have ended.
  pending_stops_ = targets.scheduler ? 3 : 2;
  targets.sessions.on_empty([this] { asio::post(io_, [this] { one_stopped(); }); });
  targets.webhooks.stop([this] { asio::post(io_, [this] { one_stopped(); }); });
  if (targets.scheduler) {
    targets.scheduler->stop([this] { asio::post(io_, [this] { one_stopped(); }); });
  }
  grace_timer_.expires_after(targets.grace);
  grace_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    auto& over = *targets_;
    log::warning("grace_period_over", {{"sessions", std::to_string(over.sessions.size())},
                                       {"deliveries", std::to_string(over.scheduler ? over.scheduler->in_flight() : 0)}});
    over.sessions.abort_all();
    // Deliveries still running lose their lease and another replica takes them over.
    grace_timer_.expires_after(std::chrono::seconds{5});
    grace_timer_.async_wait([this](boost::system::error_code again) {
      if (!again) io_.stop();
    });
  });
}

void Signals::one_stopped() {
  if (--pending_stops_ > 0) return;
  if (targets_->delivery) targets_->delivery->close_idle();
  grace_timer_.cancel();
  io_.stop();
}

}  // namespace postern::daemon
