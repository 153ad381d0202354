// See share_map_cache.hpp.
#include "server/sharing/share_map_cache.hpp"

#include "postern/schema/address.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

namespace postern::sharing {
namespace asio = boost::asio;

namespace {
constexpr std::chrono::seconds kRetryAfter{5};
}  // namespace

ShareMapCache::ShareMapCache(asio::any_io_executor executor, BlockingPool& pool, schema::SenderPolicy policy,
                             std::vector<std::string> known_upstreams)
    : strand_(asio::make_strand(std::move(executor))),
      pool_(pool),
      settings_(Settings{std::move(policy), std::move(known_upstreams)}) {}

void ShareMapCache::reconfigure(schema::SenderPolicy policy, std::vector<std::string> known_upstreams) {
  settings_.replace(Settings{std::move(policy), std::move(known_upstreams)});
  reload();
}

void ShareMapCache::reload() {
  asio::post(strand_, [this] {
    stale_ = true;
    if (loading_) return;  // the running load goes round once more
    loading_ = true;
    asio::co_spawn(strand_, load_until_current(), asio::detached);
  });
}

asio::awaitable<void> ShareMapCache::load_until_current() {
  while (stale_) {
    stale_ = false;
    if (co_await load()) continue;
    // PostgreSQL away: keep the maps held and try again shortly.
    asio::steady_timer pause{strand_, kRetryAfter};
    boost::system::error_code ignored;
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    stale_ = true;
  }
  loading_ = false;
}

asio::awaitable<bool> ShareMapCache::load() {
  try {
    auto maps = co_await pool_.run([](BlockingContext& c) { return schema::all_share_maps(c.store().connection()); });
    auto loaded = std::make_shared<const schema::ShareMapIndex>(std::move(maps), settings_.get()->policy);
    log::info("share_maps_loaded", {{"maps", std::to_string(loaded->maps().size())}});
    std::lock_guard lock{mutex_};
    index_ = std::move(loaded);
    co_return true;
  } catch (const std::exception& e) {
    log::warning("share_maps_load_failed",
                 {{"error", e.what()}, {"retry_seconds", std::to_string(kRetryAfter.count())}});
  }
  co_return false;
}

std::shared_ptr<const schema::ShareMapIndex> ShareMapCache::index() const {
  std::lock_guard lock{mutex_};
  return index_;
}

ShareMapCache::Lookup ShareMapCache::lookup(const std::string& recipient) const {
  Lookup found;
  const auto maps = index();
  if (!maps) {
    found.refusal = smtp::Outcome::temporary_failure();  // 451 4.3.0: mapped or not is unknown
    return found;
  }
  // A recipient the schema's parser refuses (<postmaster>, an address literal) cannot be mapped:
  // maps hold parsed addresses only.
  const auto address = schema::parse_address(recipient);
  const schema::ShareMap* map = address ? maps->find(*address) : nullptr;
  if (map == nullptr) {
    found.kind = Lookup::Kind::Plain;
    return found;
  }
  const std::string problem = schema::share_map_problem(*map, settings_.get()->known_upstreams);
  if (!problem.empty()) {
    found.refusal = smtp::Outcome::temporary_failure(
        smtp::Reply::line(451, "4.3.5", "Recipient's share map is not usable: " + problem));
    return found;
  }
  found.kind = Lookup::Kind::Shared;
  found.map = *map;
  return found;
}

smtp::Outcome ShareMapCache::check(const std::string& recipient) const {
  Lookup found = lookup(recipient);
  return found.kind == Lookup::Kind::Refused ? std::move(found.refusal) : smtp::Outcome::accepted();
}

}  // namespace postern::sharing
