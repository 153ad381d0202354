// The webhook loop of one replica: claims due events of the configured endpoints from the
// PostgreSQL outbox (schema/webhook_outbox.hpp), POSTs them (at most webhooks.concurrency at a
// time per endpoint), then deletes the acknowledged ones and schedules each failed one again
// with backoff (first_retry_seconds, doubling with jitter, up to max_retry_seconds). A full batch
// is followed by the next claim at once; otherwise the loop sleeps until the next event is due,
// at most poll_milliseconds. Every few minutes, events older than give_up_hours are dropped, each
// logged (`webhook_event_dropped`) and counted.
//
// Mail never waits for it: it runs on its own strand, uses the blocking pool for one short query
// at a time, and an endpoint that is down only makes its rows wait in the outbox. PostgreSQL
// away: the loop logs, backs off and tries again. Without endpoints it sleeps until a reload
// brings one, and queries nothing.
//
// Order per message and endpoint comes from the claim (one event per message and endpoint at a
// time, the next only once the one before is acknowledged or dropped).
//
// Leases: before its first claim the dispatcher releases what earlier boots of this replica's
// identity still held (as delivery does); at a stop, the events it claimed but did not post are
// released, so another replica or the next boot posts them at once.
//
//   WebhookDispatcher dispatcher{io, pool, config.webhooks, owner};  dispatcher.start();
//   dispatcher.reconfigure(new_config.webhooks);  // SIGHUP: from the next batch on
//   dispatcher.stop(done);  // no new claims nor posts; those in flight end (each within the
//                           // timeout), the others are released
#pragma once

#include "postern/schema/queue_store.hpp"
#include "server/config/webhooks_config.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace postern {
class BlockingPool;
}

namespace postern::webhooks {

class WebhookPoster;

class WebhookDispatcher {
 public:
  // `owner` names this boot's claims, as delivery's.
  WebhookDispatcher(boost::asio::io_context& io, BlockingPool& pool, config::WebhooksConfig config,
                    schema::LeaseOwner owner);
  ~WebhookDispatcher();

  void start();
  // Thread-safe: the next batch uses `config` (endpoints added, removed or changed).
  void reconfigure(config::WebhooksConfig config);
  // Thread-safe: stops claiming and posting; once the posts in flight ended and the outcomes are
  // recorded, `done` runs.
  void stop(std::function<void()> done);

  struct Outcome;  // one event and how its post ended (webhook_dispatcher.cpp)

 private:
  boost::asio::awaitable<void> loop();
  boost::asio::awaitable<void> release_earlier_boots();
  boost::asio::awaitable<bool> run_batch();  // true: the batch was full
  boost::asio::awaitable<void> post_all(std::vector<schema::WebhookEvent> events, std::vector<Outcome>& outcomes);
  boost::asio::awaitable<void> give_up_old_events();
  boost::asio::awaitable<std::chrono::milliseconds> time_until_next();
  void apply(config::WebhooksConfig config);
  std::vector<std::string> endpoint_names() const;
  int lease_seconds() const;

  BlockingPool& pool_;
  const schema::LeaseOwner owner_;
  const std::string lease_owner_;  // owner_.text(), as claims write it
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;
  // All on the strand.
  config::WebhooksConfig config_;
  std::optional<config::WebhooksConfig> next_config_;
  std::map<std::string, std::unique_ptr<WebhookPoster>> posters_;  // by endpoint name
  std::mt19937 random_;
  bool stopping_ = false;
  bool loop_done_ = false;
  std::function<void()> on_stopped_;
};

}  // namespace postern::webhooks
