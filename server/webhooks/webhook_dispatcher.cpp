// See webhook_dispatcher.hpp.
#include "server/webhooks/webhook_dispatcher.hpp"

#include "server/delivery/backoff.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/metrics.hpp"
#include "server/webhooks/webhook_payload.hpp"
#include "server/webhooks/webhook_poster.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <utility>

namespace postern::webhooks {
namespace asio = boost::asio;

namespace {

// How often events older than give_up_hours are looked for.
constexpr std::chrono::minutes kGiveUpInterval{5};
// Added to a batch's longest posting time in its lease: the time to record the outcomes.
constexpr int kLeaseMarginSeconds = 30;

// A failed post: the event is due again after `retry_after_seconds`.
struct Failure {
  std::int64_t id = 0;
  int retry_after_seconds = 0;
  std::string error;
};

// The posts of one batch still running, and the timer their waiter sleeps on until they are done.
struct Pending {
  explicit Pending(asio::any_io_executor executor) : all_done(executor) {}
  unsigned left = 0;
  asio::steady_timer all_done;
};

}  // namespace

struct WebhookDispatcher::Outcome {
  schema::WebhookEvent event;
  WebhookPostResult result;
};

namespace {

// One of an endpoint's `concurrency` workers: posts the queue's events one after the other,
// until `stopping` (the relay drains: what is left stays leased, and is posted again once the
// lease runs out).
asio::awaitable<void> post_queue(WebhookPoster& poster, std::shared_ptr<std::deque<schema::WebhookEvent>> queue,
                                 std::vector<WebhookDispatcher::Outcome>& outcomes, std::shared_ptr<Pending> pending,
                                 const bool& stopping) {
  while (!queue->empty() && !stopping) {
    schema::WebhookEvent event = std::move(queue->front());
    queue->pop_front();
    WebhookPostResult result;
    try {
      const std::string body = webhook_payload(event);
      result = co_await poster.post(event.event_id, "message." + event.type, body);
    } catch (const std::exception& e) {
      result = {false, e.what()};
    }
    outcomes.push_back({std::move(event), std::move(result)});
  }
  if (--pending->left == 0) pending->all_done.cancel();
}

}  // namespace

WebhookDispatcher::WebhookDispatcher(asio::io_context& io, BlockingPool& pool, config::WebhooksConfig config,
                                     schema::LeaseOwner owner)
    : pool_(pool),
      owner_(std::move(owner)),
      lease_owner_(owner_.text()),
      strand_(asio::make_strand(io)),
      timer_(strand_),
      random_(std::random_device{}()) {
  apply(std::move(config));
}

WebhookDispatcher::~WebhookDispatcher() = default;

void WebhookDispatcher::start() { asio::co_spawn(strand_, loop(), asio::detached); }

void WebhookDispatcher::reconfigure(config::WebhooksConfig config) {
  asio::post(strand_, [this, config = std::move(config)]() mutable {
    next_config_ = std::move(config);
    timer_.cancel();
  });
}

void WebhookDispatcher::stop(std::function<void()> done) {
  asio::post(strand_, [this, done = std::move(done)]() mutable {
    stopping_ = true;
    on_stopped_ = std::move(done);
    timer_.cancel();
    if (loop_done_ && on_stopped_) std::exchange(on_stopped_, nullptr)();
  });
}

// Between batches (or before the first): new posters, so changed URLs, secrets and CAs apply.
void WebhookDispatcher::apply(config::WebhooksConfig config) {
  config_ = std::move(config);
  posters_.clear();
  for (const auto& endpoint : config_.endpoints) {
    try {
      posters_.emplace(endpoint.name,
                       std::make_unique<WebhookPoster>(strand_, endpoint, std::chrono::seconds{config_.timeout_seconds},
                                                       config_.concurrency));
    } catch (const std::exception& e) {
      log::error("webhook_endpoint_unusable", {{"endpoint", endpoint.name}, {"error", e.what()}});
      continue;
    }
    metrics::webhooks().events_sent.declare({endpoint.name});
    metrics::webhooks().post_failures.declare({endpoint.name});
    metrics::webhooks().events_dropped.declare({endpoint.name});
  }
}

std::vector<std::string> WebhookDispatcher::endpoint_names() const {
  std::vector<std::string> names;
  for (const auto& [name, poster] : posters_) names.push_back(name);
  return names;
}

// Long enough for a whole batch of one endpoint posted `concurrency` at a time, each post
// taking its whole timeout, and the outcomes recorded.
int WebhookDispatcher::lease_seconds() const {
  const unsigned concurrency = std::max(config_.concurrency, 1u);
  const unsigned rounds = (config_.batch + concurrency - 1) / concurrency;
  return static_cast<int>(config_.timeout_seconds * rounds) + kLeaseMarginSeconds;
}

asio::awaitable<void> WebhookDispatcher::post_all(std::vector<schema::WebhookEvent> events,
                                                  std::vector<Outcome>& outcomes) {
  std::map<std::string, std::shared_ptr<std::deque<schema::WebhookEvent>>> queues;
  for (auto& event : events) {
    auto& queue = queues[event.endpoint];
    if (!queue) queue = std::make_shared<std::deque<schema::WebhookEvent>>();
    queue->push_back(std::move(event));
  }
  auto pending = std::make_shared<Pending>(strand_);
  for (auto& [endpoint, queue] : queues) {
    auto poster = posters_.find(endpoint);
    if (poster == posters_.end()) continue;  // claimed only for configured endpoints
    const std::size_t workers = std::min<std::size_t>(std::max(config_.concurrency, 1u), queue->size());
    for (std::size_t i = 0; i < workers; ++i) {
      ++pending->left;
      asio::co_spawn(strand_, post_queue(*poster->second, queue, outcomes, pending, stopping_), asio::detached);
    }
  }
  if (pending->left == 0) co_return;
  pending->all_done.expires_at(std::chrono::steady_clock::time_point::max());
  boost::system::error_code ec;
  co_await pending->all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// Claims, posts and records one batch; true when it claimed anything (the next events of the
// same messages may be due at once).
asio::awaitable<bool> WebhookDispatcher::run_batch() {
  auto claimed = co_await pool_.run(
      [](BlockingContext& c, const std::string& owner, int limit, int lease, const std::vector<std::string>& names) {
        return schema::claim_webhook_events(c.store().connection(), owner, limit, lease, names);
      },
      lease_owner_, static_cast<int>(std::max(config_.batch, 1u)), lease_seconds(), endpoint_names());
  if (claimed.empty()) co_return false;
  std::vector<std::int64_t> unposted;
  for (const auto& event : claimed) unposted.push_back(event.id);

  std::vector<Outcome> outcomes;
  co_await post_all(std::move(claimed), outcomes);
  // Left when the relay stops: released, not failed.
  std::erase_if(unposted, [&](std::int64_t id) {
    return std::any_of(outcomes.begin(), outcomes.end(), [id](const Outcome& o) { return o.event.id == id; });
  });

  std::vector<std::int64_t> sent;
  std::vector<Failure> failures;
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  for (const auto& [event, result] : outcomes) {
    if (result.ok) {
      sent.push_back(event.id);
      metrics::webhooks().events_sent.inc(event.endpoint);
      log::debug("webhook_event_sent", {{"endpoint", event.endpoint}, {"event_id", event.event_id},
                                        {"type", event.type}, {"message_id", event.message_id}});
      continue;
    }
    const auto delay = delivery::retry_delay(static_cast<unsigned>(event.attempts) + 1, config_.first_retry_seconds,
                                             config_.max_retry_seconds, jitter(random_));
    failures.push_back({event.id, static_cast<int>(delay.count()), result.error});
    metrics::webhooks().post_failures.inc(event.endpoint);
    log::warning("webhook_post_failed", {{"endpoint", event.endpoint}, {"event_id", event.event_id},
                                         {"type", event.type}, {"message_id", event.message_id},
                                         {"attempt", std::to_string(event.attempts + 1)},
                                         {"retry_seconds", std::to_string(delay.count())}, {"error", result.error}});
  }
  co_await pool_.run(
      [](BlockingContext& c, const std::string& owner, const std::vector<std::int64_t>& ids,
         const std::vector<Failure>& failed, const std::vector<std::int64_t>& released) {
        schema::webhook_events_sent(c.store().connection(), owner, ids);
        schema::release_webhook_events(c.store().connection(), owner, released);
        for (const auto& failure : failed) {
          schema::webhook_event_failed(c.store().connection(), owner, failure.id, failure.retry_after_seconds,
                                       failure.error);
        }
        return true;
      },
      lease_owner_, std::move(sent), std::move(failures), std::move(unposted));
  co_return true;
}

asio::awaitable<void> WebhookDispatcher::give_up_old_events() {
  auto dropped = co_await pool_.run(
      [](BlockingContext& c, long long max_age_seconds) {
        return schema::give_up_webhook_events(c.store().connection(), max_age_seconds);
      },
      static_cast<long long>(config_.give_up_hours) * 3600);
  for (const auto& event : dropped) {
    metrics::webhooks().events_dropped.inc(event.endpoint);
    log::warning("webhook_event_dropped", {{"endpoint", event.endpoint}, {"event_id", event.event_id},
                                           {"type", event.type}, {"message_id", event.message_id},
                                           {"attempts", std::to_string(event.attempts)}});
  }
}

// Until the next event of the configured endpoints is due, at most poll_milliseconds. An event
// due now yet not claimed waits behind an earlier one of its message (leased elsewhere, or
// failing): look again after the poll interval, not at once.
asio::awaitable<std::chrono::milliseconds> WebhookDispatcher::time_until_next() {
  const std::chrono::milliseconds poll{std::max(config_.poll_milliseconds, 1u)};
  const auto next = co_await pool_.run(
      [](BlockingContext& c, const std::vector<std::string>& names) {
        return schema::seconds_until_next_webhook(c.store().connection(), names);
      },
      endpoint_names());
  if (!next || *next <= 0) co_return poll;
  co_return std::min(poll, std::chrono::milliseconds{static_cast<long long>(std::ceil(*next * 1000)) + 1});
}

asio::awaitable<void> WebhookDispatcher::release_earlier_boots() {
  try {
    const long released = co_await pool_.run(
        [](BlockingContext& c, const schema::LeaseOwner& owner) {
          return schema::release_earlier_webhook_leases(c.store().connection(), owner.identity, owner.text());
        },
        owner_);
    if (released > 0) log::info("webhook_leases_released", {{"events", std::to_string(released)}});
  } catch (const std::exception& e) {
    // Their leases run out instead.
    log::warning("webhook_lease_release_failed", {{"error", e.what()}});
  }
}

asio::awaitable<void> WebhookDispatcher::loop() {
  if (!posters_.empty()) co_await release_earlier_boots();
  std::chrono::milliseconds backoff{0};
  auto next_give_up = std::chrono::steady_clock::now();
  while (!stopping_) {
    if (next_config_) {
      apply(std::move(*next_config_));
      next_config_.reset();
      log::info("webhooks_reconfigured", {{"endpoints", std::to_string(posters_.size())}});
    }
    if (posters_.empty()) {
      // No endpoint: no query at all, until a reload brings one (or the stop).
      timer_.expires_at(std::chrono::steady_clock::time_point::max());
      boost::system::error_code ec;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    std::chrono::milliseconds sleep{0};
    try {
      if (std::chrono::steady_clock::now() >= next_give_up) {
        co_await give_up_old_events();
        next_give_up = std::chrono::steady_clock::now() + kGiveUpInterval;
      }
      const bool claimed_any = co_await run_batch();
      backoff = std::chrono::milliseconds{0};
      if (!claimed_any) sleep = co_await time_until_next();
    } catch (const std::exception& e) {
      // PostgreSQL away: the events wait in the outbox; try again soon, without hammering it.
      backoff = std::min<std::chrono::milliseconds>(
          std::max<std::chrono::milliseconds>(backoff * 2, std::chrono::milliseconds{500}), std::chrono::seconds{10});
      log::warning("webhook_outbox_failed", {{"error", e.what()}, {"retry_ms", std::to_string(backoff.count())}});
      sleep = backoff;
    }
    if (sleep.count() == 0 || stopping_) continue;
    timer_.expires_after(sleep);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  for (auto& [name, poster] : posters_) poster->close();
  loop_done_ = true;
  if (on_stopped_) std::exchange(on_stopped_, nullptr)();
}

}  // namespace postern::webhooks
