// See delivery_scheduler.hpp.
#include "server/delivery/delivery_scheduler.hpp"

#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <utility>

namespace postern::delivery {
namespace asio = boost::asio;

namespace {

// The least time from one claim to the next. Under load every queued message (its NOTIFY) and
// every finished delivery wakes the scheduler; spaced claims take what came meanwhile in one
// statement instead of one each. A message queued to an idle scheduler is claimed at once.
constexpr std::chrono::milliseconds kClaimSpacing{10};

}  // namespace

DeliveryScheduler::DeliveryScheduler(asio::io_context& io, BlockingPool& pool,
                                     MessageDelivery& delivery,
                                     const DeliveryConfig& config, schema::LeaseOwner owner)
    : io_(io),
      pool_(pool),
      delivery_(delivery),
      config_(config),
      owner_(std::move(owner)),
      lease_owner_(owner_.text()),
      strand_(asio::make_strand(io)),
      timer_(strand_) {}

void DeliveryScheduler::start() {
  asio::co_spawn(strand_, loop(), asio::detached);
}

void DeliveryScheduler::wake() {
  if (wake_posted_.exchange(true)) return;  // a burst of NOTIFYs is one wake
  asio::post(strand_, [this] {
    wake_posted_ = false;
    wake_pending_ = true;
    timer_.cancel();
  });
}

void DeliveryScheduler::stop(std::function<void()> done) {
  asio::post(strand_, [this, done = std::move(done)]() mutable {
    stopping_ = true;
    on_stopped_ = std::move(done);
    timer_.cancel();
    if (loop_done_ && in_flight_ == 0 && on_stopped_) std::exchange(on_stopped_, nullptr)();
  });
}

void DeliveryScheduler::finished_one() {
  asio::post(strand_, [this] {
    --in_flight_;
    if (stopping_) {
      if (loop_done_ && in_flight_ == 0 && on_stopped_) std::exchange(on_stopped_, nullptr)();
      return;
    }
    wake_pending_ = true;
    timer_.cancel();
  });
}

// Releases the leases of this identity's earlier boots, retrying while PostgreSQL is away:
// claiming first could leave a dead boot's messages waiting for their leases to run out.
asio::awaitable<void> DeliveryScheduler::release_earlier_boots() {
  std::chrono::milliseconds backoff{500};
  while (!stopping_) {
    try {
      const long released = co_await pool_.run(
          [](BlockingContext& c, const schema::LeaseOwner& owner) {
            return schema::release_earlier_boots(c.store().connection(), owner);
          },
          owner_);
      log::info("leases_released", {{"identity", owner_.identity}, {"lease_owner", lease_owner_},
                                    {"released", std::to_string(released)}});
      co_return;
    } catch (const std::exception& e) {
      log::warning("lease_release_failed", {{"error", e.what()}, {"retry_ms", std::to_string(backoff.count())}});
    }
    timer_.expires_after(backoff);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds{10});
  }
}

// Renews the lease every third of its length until the delivery is done. A renewal that finds
// the lease gone (taken over after it ran out, or released by this identity's next boot) raises
// `lease_lost`: the delivery must not record its attempt over the new owner's.
asio::awaitable<void> DeliveryScheduler::keep_lease(std::string id, std::shared_ptr<asio::steady_timer> timer,
                                                    std::shared_ptr<bool> done,
                                                    std::shared_ptr<std::atomic<bool>> lease_lost) {
  const auto period = std::chrono::milliseconds{std::max(200u, config_.lease_seconds * 1000 / 3)};
  for (;;) {
    timer->expires_after(period);
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (*done) co_return;
    try {
      bool kept = co_await pool_.run(
          [](BlockingContext& c, const std::string& message_id, const std::string& owner, int seconds) {
            return schema::renew_lease(c.store().connection(), message_id, owner, seconds);
          },
          id, lease_owner_, static_cast<int>(config_.lease_seconds));
      if (!kept) {
        *lease_lost = true;
        log::warning("lease_lost", {{"id", id}});
        co_return;
      }
    } catch (const std::exception& e) {
      log::warning("lease_renewal_failed", {{"id", id}, {"error", e.what()}});
    }
  }
}

asio::awaitable<void> DeliveryScheduler::run_one(schema::ClaimedMessage message) {
  auto executor = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(executor);
  auto done = std::make_shared<bool>(false);
  auto lease_lost = std::make_shared<std::atomic<bool>>(false);
  asio::co_spawn(executor, keep_lease(message.id, timer, done, lease_lost), asio::detached);
  try {
    co_await delivery_.deliver(std::move(message), lease_lost);
  } catch (const std::exception& e) {
    log::error("delivery_failed", {{"error", e.what()}});
  }
  *done = true;
  timer->cancel();
  finished_one();
}

asio::awaitable<void> DeliveryScheduler::loop() {
  co_await release_earlier_boots();
  const auto poll = std::chrono::seconds{config_.poll_seconds};
  std::chrono::milliseconds backoff{0};
  auto last_claim = std::chrono::steady_clock::now() - kClaimSpacing;
  while (!stopping_) {
    std::chrono::milliseconds sleep = poll;
    const unsigned free = config_.workers - std::min(config_.workers, in_flight_.load());
    const auto spacing_left = std::chrono::ceil<std::chrono::milliseconds>(
        last_claim + kClaimSpacing - std::chrono::steady_clock::now());
    const bool spaced = spacing_left.count() <= 0;
    if (free > 0 && wake_pending_ && !spaced) {
      sleep = spacing_left;  // the wake stays pending
    } else if (free > 0 && wake_pending_) {
      wake_pending_ = false;
      last_claim = std::chrono::steady_clock::now();
      try {
        auto claimed = co_await pool_.run(
            [](BlockingContext& c, const std::string& owner, int limit, int seconds, const schema::SealKeys& keys) {
              return schema::claim_due(c.store().connection(), owner, limit, seconds, keys);
            },
            lease_owner_, static_cast<int>(free), static_cast<int>(config_.lease_seconds), delivery_.seal_keys());
        backoff = std::chrono::milliseconds{0};
        for (auto& message : claimed) {
          ++in_flight_;
          asio::co_spawn(asio::make_strand(io_), run_one(std::move(message)), asio::detached);
        }
        // A full batch: more may be due at once.
        if (claimed.size() == free) wake_pending_ = true;
        if (!wake_pending_) {
          auto next = co_await pool_.run([](BlockingContext& c) {
            return schema::seconds_until_next_due(c.store().connection()).value_or(1e9);
          });
          sleep = std::min<std::chrono::milliseconds>(
              poll, std::chrono::milliseconds{static_cast<long long>(next * 1000) + 1});
          // Due now yet not claimed: another replica took it this instant. Look again shortly.
          if (next <= 0) sleep = std::chrono::milliseconds{50};
        }
      } catch (const std::exception& e) {
        // PostgreSQL away: try again soon, without hammering it.
        backoff = std::min<std::chrono::milliseconds>(std::max<std::chrono::milliseconds>(backoff * 2, std::chrono::milliseconds{500}),
                                                      std::chrono::milliseconds{10000});
        log::warning("queue_claim_failed", {{"error", e.what()}, {"retry_ms", std::to_string(backoff.count())}});
        sleep = backoff;
        wake_pending_ = true;
      }
    }
    if (wake_pending_ && free > 0 && backoff.count() == 0 && spaced) continue;
    timer_.expires_after(sleep);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) wake_pending_ = true;  // the timer ran out: look again
  }
  loop_done_ = true;
  if (in_flight_ == 0 && on_stopped_) std::exchange(on_stopped_, nullptr)();
}

}  // namespace postern::delivery
