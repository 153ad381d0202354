// See sending_limits.hpp.
#include "server/policy/sending_limits.hpp"

#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/metrics.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

namespace postern::policy {
namespace {

using Steady = std::chrono::steady_clock;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// How often the rows of windows that ended are deleted.
constexpr std::chrono::seconds kExpiryInterval{60};

using UsageKey = std::pair<std::int64_t, schema::UsageWindow>;

// One sync's database work. `flushed` tells whether the counts were added, even when the totals
// could not be read after.
struct SyncResult {
  bool flushed = false;
  std::optional<std::vector<schema::UsageCount>> totals;
};

}  // namespace

struct SendingLimits::Budget {
  SendingBudget counts;  // guarded by SendingLimits::mutex_
};

struct SendingLimits::Entry {
  std::shared_ptr<Budget> budget;
  bool limits_current = false;  // false after an invalidation: read the user's own limits again
  Steady::time_point limits_read{};
  Steady::time_point last_used{};
};

SendingLimits::SendingLimits(boost::asio::any_io_executor executor, BlockingPool& pool, Options options)
    : executor_(std::move(executor)), pool_(pool), options_(std::move(options)) {}

SendingLimits::~SendingLimits() = default;

void SendingLimits::start() {
  boost::asio::co_spawn(executor_, sync_loop(), boost::asio::detached);
}

smtp::Outcome SendingLimits::exceeded() {
  return smtp::Outcome::temporary_failure(smtp::Reply::line(450, "4.7.1", "Sending rate limit exceeded, try again later"));
}

boost::asio::awaitable<smtp::Outcome> SendingLimits::check_message(const std::string& user,
                                                                   std::shared_ptr<Budget>& budget) {
  budget.reset();
  {
    std::lock_guard lock{mutex_};
    const auto now = Steady::now();
    auto it = users_.find(user);
    if (it != users_.end() && listening_ && it->second.limits_current &&
        now - it->second.limits_read < options_.cache_ttl) {
      it->second.last_used = now;
      budget = it->second.budget;
    }
  }
  if (!budget) {
    try {
      budget = co_await load(user);
    } catch (const std::exception& e) {
      log::warning("sending_limits_unavailable", {{"user", user}, {"error", e.what()}});
      co_return smtp::Outcome::temporary_failure();
    }
    if (!budget) co_return smtp::Outcome::refused();  // deleted since the grant check
  }
  bool allowed = false;
  {
    std::lock_guard lock{mutex_};
    allowed = budget->counts.try_message(unix_now());
  }
  if (allowed) co_return smtp::Outcome::accepted();
  metrics::smtp().limit_refusals.inc("messages");
  co_return exceeded();
}

smtp::Outcome SendingLimits::check_recipient(const std::shared_ptr<Budget>& budget) {
  if (!budget) return smtp::Outcome::accepted();
  bool allowed = false;
  {
    std::lock_guard lock{mutex_};
    allowed = budget->counts.try_recipient(unix_now());
  }
  if (allowed) return smtp::Outcome::accepted();
  metrics::smtp().limit_refusals.inc("recipients");
  return exceeded();
}

boost::asio::awaitable<std::shared_ptr<SendingLimits::Budget>> SendingLimits::load(const std::string& user) {
  std::uint64_t ticket = 0;
  {
    std::lock_guard lock{mutex_};
    ticket = generation_;
  }
  const std::int64_t now = unix_now();
  auto state = co_await pool_.run(
      [](BlockingContext& context, const std::string& name, schema::UsageWindow hour, schema::UsageWindow day) {
        return schema::user_sending_state(context.store().connection(), name, hour, day);
      },
      user, schema::window_at(options_.windows.hour, now), schema::window_at(options_.windows.day, now));
  if (!state) co_return nullptr;
  std::lock_guard lock{mutex_};
  const Limits limits = effective_limits(options_.defaults, state->overrides);
  Entry& entry = users_[user];
  // A user deleted and made again under the same name is another user: counts start over.
  if (!entry.budget || entry.budget->counts.user_id() != state->user_id) {
    entry.budget = std::make_shared<Budget>(
        Budget{SendingBudget{options_.windows, limits, state->user_id, state->hour, state->day, now}});
  } else {
    entry.budget->counts.set_limits(limits);
    entry.budget->counts.reloaded(state->hour, state->day, now);
  }
  entry.limits_current = listening_ && ticket == generation_;
  entry.limits_read = entry.last_used = Steady::now();
  co_return entry.budget;
}

void SendingLimits::invalidate(const std::string& user) {
  std::lock_guard lock{mutex_};
  ++generation_;
  if (auto it = users_.find(user); it != users_.end()) it->second.limits_current = false;
}

void SendingLimits::invalidate_all() {
  std::lock_guard lock{mutex_};
  ++generation_;
  for (auto& [name, entry] : users_) entry.limits_current = false;
}

void SendingLimits::set_listening(bool listening) {
  std::lock_guard lock{mutex_};
  listening_ = listening;
  ++generation_;
  for (auto& [name, entry] : users_) entry.limits_current = false;
}

void SendingLimits::set_defaults(Limits defaults, std::chrono::seconds cache_ttl) {
  std::lock_guard lock{mutex_};
  options_.defaults = defaults;
  options_.cache_ttl = cache_ttl;
  ++generation_;
  for (auto& [name, entry] : users_) entry.limits_current = false;  // read again with the new defaults
}

boost::asio::awaitable<void> SendingLimits::sync_loop() {
  boost::asio::steady_timer timer{executor_};
  for (;;) {
    timer.expires_after(options_.sync_interval);
    co_await timer.async_wait(boost::asio::use_awaitable);
    co_await sync_once();
  }
}

boost::asio::awaitable<void> SendingLimits::sync_once() {
  std::vector<schema::UsageCount> counts;
  std::vector<UsageKey> keys;
  std::vector<std::shared_ptr<Budget>> involved;
  std::int64_t expire_before = 0;  // 0: not this time
  {
    std::lock_guard lock{mutex_};
    const auto now = Steady::now();
    for (auto it = users_.begin(); it != users_.end();) {
      Entry& entry = it->second;
      SendingBudget& budget = entry.budget->counts;
      // Forgotten once idle for the TTL with everything added and no session holding it.
      if (now - entry.last_used > options_.cache_ttl && !budget.has_unsynced() && entry.budget.use_count() == 1) {
        it = users_.erase(it);
        continue;
      }
      auto taken = budget.take_unsynced();
      counts.insert(counts.end(), taken.begin(), taken.end());
      for (const auto& window : budget.windows()) keys.emplace_back(budget.user_id(), window);
      involved.push_back(entry.budget);
      ++it;
    }
    if (now - last_expiry_ > kExpiryInterval) {
      last_expiry_ = now;
      expire_before = unix_now();
    }
  }
  if (involved.empty() && expire_before == 0) co_return;

  SyncResult result;
  try {
    result = co_await pool_.run(
        [](BlockingContext& context, const std::string& replica, const std::vector<schema::UsageCount>& added,
           const std::vector<UsageKey>& read, std::int64_t expiry) {
          auto& db = context.store().connection();
          SyncResult done;
          schema::add_sending_usage(db, replica, added);
          done.flushed = true;
          try {
            done.totals = schema::sending_usage_totals(db, read);
            if (expiry != 0) schema::expire_sending_usage(db, expiry);
          } catch (const std::exception& e) {
            log::warning("sending_usage_read_failed", {{"error", e.what()}});
          }
          return done;
        },
        options_.replica, std::move(counts), std::move(keys), expire_before);
  } catch (const std::exception& e) {
    log::warning("sending_usage_sync_failed", {{"error", e.what()}});
  }
  std::lock_guard lock{mutex_};
  for (const auto& budget : involved) {
    if (!result.flushed) {
      budget->counts.flush_failed();  // added again at the next sync
      continue;
    }
    budget->counts.flushed();
    if (result.totals) budget->counts.refreshed(*result.totals);
  }
}

}  // namespace postern::policy
