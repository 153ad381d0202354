// MAIL FROM: may the authenticated user send as this address? Takes the user's grants from this
// replica's grant cache, or from PostgreSQL (on the blocking pool) and caches them (UserCache:
// dropped when PostgreSQL notifies a change to the user or its grants), then applies the pure
// sender rule. A lookup that fails is a temporary failure, never a pass. The grants are returned
// too, so the header From check at the end of DATA uses the same ones without a second query.
//
//   GrantCheckResult r = co_await grants.check(user, address);
//   protocol.sender_checked(r.outcome);
#pragma once

#include "postern/schema/sender_rule.hpp"
#include "server/runtime/snapshot.hpp"
#include "server/runtime/user_cache.hpp"
#include "server/smtp/step.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>

namespace postern {
class BlockingPool;
}

namespace postern::policy {

struct GrantCheckResult {
  smtp::Outcome outcome;      // Accepted, Refused or TemporaryFailure; the protocol words the reply
  schema::UserGrants grants;  // valid when outcome is not TemporaryFailure
  std::string detail;         // for the log: the matching grant or why it was refused
};

class GrantCheck {
 public:
  GrantCheck(BlockingPool& pool, schema::SenderPolicy policy, UserCacheLimits cache_limits)
      : pool_(pool), policy_(std::move(policy)), cache_(cache_limits) {}

  // A reload: checks from now on use the new policy and cache limits.
  void reconfigure(schema::SenderPolicy policy, UserCacheLimits cache_limits) {
    policy_.replace(std::move(policy));
    cache_.set_limits(cache_limits);
  }

  boost::asio::awaitable<GrantCheckResult> check(const std::string& user, const std::string& address);

  // nullopt: the user does not exist or is disabled.
  using CachedGrants = std::optional<schema::UserGrants>;
  // For the notification listener, which drops a changed user's entry.
  UserCache<CachedGrants>& cache() { return cache_; }

 private:
  boost::asio::awaitable<CachedGrants> grants_of(const std::string& user);

  BlockingPool& pool_;
  Snapshot<schema::SenderPolicy> policy_;
  UserCache<CachedGrants> cache_;
};

}  // namespace postern::policy
