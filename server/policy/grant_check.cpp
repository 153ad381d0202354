// See grant_check.hpp.
#include "server/policy/grant_check.hpp"

#include "postern/schema/address.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/metrics.hpp"

namespace postern::policy {

boost::asio::awaitable<GrantCheck::CachedGrants> GrantCheck::grants_of(const std::string& user) {
  using Clock = UserCache<CachedGrants>::Clock;
  const UserCacheTicket ticket = cache_.ticket();  // before the read: see UserCache::store
  if (auto cached = cache_.find(user, Clock::now())) {
    metrics::smtp().cache_lookups.inc({"grants", "hit"});
    co_return std::move(*cached);
  }
  metrics::smtp().cache_lookups.inc({"grants", "miss"});
  CachedGrants grants = co_await pool_.run(
      [](BlockingContext& context, const std::string& name) { return context.store().grants_of(name); }, user);
  cache_.store(user, grants, ticket, Clock::now());
  co_return grants;
}

boost::asio::awaitable<GrantCheckResult> GrantCheck::check(const std::string& user,
                                                           const std::string& address) {
  const metrics::Timer timed{metrics::smtp().grant_check_seconds};
  GrantCheckResult result;
  auto sender = schema::parse_address(address);
  CachedGrants grants;
  try {
    grants = co_await grants_of(user);
  } catch (const std::exception& e) {
    result.detail = e.what();
    co_return result;  // TemporaryFailure: never accept unchecked mail
  }
  if (!grants) {
    // Deleted or disabled since AUTH: nothing is granted any more.
    result.outcome = smtp::Outcome::refused();
    result.detail = "user deleted or disabled";
    co_return result;
  }
  result.grants = std::move(*grants);
  if (!sender) {
    result.outcome = smtp::Outcome::refused();
    result.detail = sender.error;
    co_return result;
  }
  auto decision = schema::may_send_as(result.grants, *sender, *policy_.get());
  result.outcome = decision.allowed ? smtp::Outcome::accepted() : smtp::Outcome::refused();
  result.detail = decision.allowed
                      ? std::string(decision.via == schema::GrantKind::Domain ? "domain grant " : "address grant ") + decision.grant
                      : "not granted";
  co_return result;
}

}  // namespace postern::policy
