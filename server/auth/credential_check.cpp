// See credential_check.hpp.
#include "server/auth/credential_check.hpp"

#include "postern/schema/address.hpp"
#include "postern/schema/errors.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/metrics.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <optional>

namespace postern::auth {
namespace {

using Verdict = CredentialCheck::Verdict;
using Clock = FailureThrottle::Clock;

// How long an attempt may wait for one of its user's check slots before the client is told to
// try later (454), and how often it looks for a free one meanwhile.
constexpr std::chrono::seconds kSlotWait{10};
constexpr std::chrono::milliseconds kSlotPoll{50};

const char* name_of(Verdict verdict) {
  switch (verdict) {
    case Verdict::Accepted: return "accepted";
    case Verdict::Rejected: return "rejected";
    case Verdict::Disabled: return "disabled";
    case Verdict::Unavailable: return "unavailable";
    case Verdict::Busy: return "busy";
  }
  return "unknown";
}

boost::asio::awaitable<void> pause(std::chrono::milliseconds delay) {
  if (delay.count() <= 0) co_return;
  boost::asio::steady_timer timer{co_await boost::asio::this_coro::executor, delay};
  co_await timer.async_wait(boost::asio::use_awaitable);
}

// Ends the attempt however verify() leaves (a cancelled session too): undecided unless told.
struct AttemptEnd {
  FailureThrottle& throttle;
  FailureThrottle::Attempt& attempt;
  FailureThrottle::Result result = FailureThrottle::Result::Undecided;
  ~AttemptEnd() { throttle.end(attempt, result, Clock::now()); }
};

// What the client is told of a verdict, and what the throttle counts: a refusal is a failure,
// a lookup that could not be made is neither.
smtp::Outcome outcome_of(Verdict verdict, const std::string& user, AttemptEnd& end) {
  switch (verdict) {
    case Verdict::Accepted:
      end.result = FailureThrottle::Result::Success;
      return smtp::Outcome::authenticated(user);
    case Verdict::Unavailable:
    case Verdict::Busy:
      return smtp::Outcome::temporary_failure();
    case Verdict::Rejected:
    case Verdict::Disabled:
      break;
  }
  end.result = FailureThrottle::Result::Failure;
  return smtp::Outcome::refused();
}

// No proxy authorization: an authzid must name the user itself (RFC 4616 §2).
bool acts_as_other(const smtp::VerifyCredentials& request, const std::string& user) {
  if (request.authzid.empty()) return false;
  auto authzid = schema::normalize_user_name(request.authzid);
  return !authzid || *authzid != user;
}

}  // namespace

CredentialCheck::CredentialCheck(BlockingPool& database, BlockingPool& hashing,
                                 schema::Argon2Params argon2, FailureThrottle::Limits limits,
                                 UserCacheLimits cache_limits, std::optional<BearerSettings> bearer)
    : database_(database),
      hashing_(hashing),
      hashing_settings_(hashing_at(argon2)),
      throttle_(limits),
      cache_(cache_limits),
      bearer_(std::move(bearer)) {}

CredentialCheck::Hashing CredentialCheck::hashing_at(schema::Argon2Params argon2) {
  return Hashing{argon2, schema::hash_password("postern-dummy", argon2)};
}

void CredentialCheck::reconfigure(schema::Argon2Params argon2, FailureThrottle::Limits limits,
                                  UserCacheLimits cache_limits, std::optional<BearerSettings> bearer) {
  bearer_.replace(std::move(bearer));
  const auto running = hashing_settings_.get();
  const bool same_cost = running->argon2.memory_kib == argon2.memory_kib &&
                         running->argon2.iterations == argon2.iterations;
  // One hash at the new cost, made once per change (as at start).
  if (!same_cost) hashing_settings_.replace(hashing_at(argon2));
  throttle_.set_limits(limits);
  cache_.entries().set_limits(cache_limits);
}

boost::asio::awaitable<smtp::Outcome> CredentialCheck::verify(const smtp::VerifyCredentials& request,
                                                              const std::string& client_address) {
  auto name = schema::normalize_user_name(request.user);
  const std::string user = name ? *name : std::string{};
  FailureThrottle::Attempt attempt = throttle_.begin(user, client_address, Clock::now());
  AttemptEnd end{throttle_, attempt};
  if (attempt.refused) {
    log::warning("auth", {{"client", client_address}, {"user", user.empty() ? request.user : user},
                          {"result", "throttled"}});
    metrics::smtp().auth_results.inc("throttled");
    co_return smtp::Outcome::too_many_failures();
  }

  Verdict verdict = Verdict::Busy;
  const bool admitted = co_await admit(attempt);
  if (attempt.over_budget) {
    log::warning("auth", {{"client", client_address}, {"user", user}, {"result", "throttled"}});
    metrics::smtp().auth_results.inc("throttled");
    co_return smtp::Outcome::too_many_failures();
  }
  if (admitted && name && !acts_as_other(request, user)) {
    verdict = co_await decide(user, request.password, client_address);
  } else if (admitted) {
    verdict = Verdict::Rejected;
  }

  log::info("auth", {{"client", client_address}, {"user", user.empty() ? request.user : user},
                     {"result", name_of(verdict)}});
  metrics::smtp().auth_results.inc(name_of(verdict));
  co_return outcome_of(verdict, user, end);
}

// The throttle as for a password, by the name the client gave (or none: then by its network alone),
// since whose token it is shows only once it is checked.
boost::asio::awaitable<smtp::Outcome> CredentialCheck::verify_bearer(const smtp::VerifyBearerToken& request,
                                                                     const std::string& client_address) {
  const auto name = schema::normalize_user_name(request.user);
  const std::string claimed = name ? *name : std::string{};
  FailureThrottle::Attempt attempt = throttle_.begin(claimed, client_address, Clock::now());
  AttemptEnd end{throttle_, attempt};
  const auto throttled = [&] {
    log::warning("auth", {{"client", client_address}, {"mechanism", request.mechanism},
                          {"user", request.user}, {"result", "throttled"}});
    metrics::smtp().auth_results.inc("throttled");
    return smtp::Outcome::too_many_failures();
  };
  if (attempt.refused) co_return throttled();
  const bool admitted = co_await admit(attempt);
  if (attempt.over_budget) co_return throttled();
  BearerDecision decision{Verdict::Busy, request.user, "no check slot in time"};
  if (admitted) decision = co_await decide_bearer(request, client_address);

  log::info("auth", {{"client", client_address}, {"mechanism", request.mechanism}, {"user", decision.user},
                     {"result", name_of(decision.verdict)}, {"reason", decision.reason}});
  metrics::smtp().auth_results.inc(name_of(decision.verdict));
  co_return outcome_of(decision.verdict, decision.user, end);
}

boost::asio::awaitable<bool> CredentialCheck::admit(FailureThrottle::Attempt& attempt) {
  co_await pause(attempt.delay);
  const auto deadline = Clock::now() + kSlotWait;
  for (;;) {
    const std::optional<std::chrono::milliseconds> wait = throttle_.enter(attempt, Clock::now());
    if (wait) {
      co_await pause(*wait);  // inside the slot: this is what bounds a user's guess rate
      co_return true;
    }
    if (attempt.over_budget || Clock::now() >= deadline) co_return false;
    co_await pause(kSlotPoll);
  }
}

boost::asio::awaitable<Verdict> CredentialCheck::decide(const std::string& user, const std::string& password,
                                                        const std::string& client_address) {
  try {
    co_return co_await check_password(user, password);
  } catch (const PoolFull& e) {
    log::warning("auth_busy", {{"client", client_address}, {"error", e.what()}});
    co_return Verdict::Busy;
  } catch (const std::exception& e) {
    log::warning("auth_lookup_failed", {{"client", client_address}, {"error", e.what()}});
    co_return Verdict::Unavailable;
  }
}

boost::asio::awaitable<Verdict> CredentialCheck::check_password(const std::string& user, const std::string& password) {
  // Taken before the lookup: a change PostgreSQL notifies meanwhile keeps this login out of the cache.
  const UserCacheTicket ticket = cache_.ticket();
  const std::shared_ptr<const Hashing> hashing = hashing_settings_.get();  // one reload's, for the whole check
  const schema::Argon2Params& argon2 = hashing->argon2;
  if (cache_.matches(user, password, CredentialCache::Clock::now())) {
    metrics::smtp().cache_lookups.inc({"credentials", "hit"});
    co_return Verdict::Accepted;  // the login time was recorded by the full check it remembers
  }
  metrics::smtp().cache_lookups.inc({"credentials", "miss"});
  auto credentials = co_await database_.run(
      [](BlockingContext& context, const std::string& name) { return context.store().credentials(name); }, user);
  // Argon2 runs on its own threads, so logins never hold up other sessions' queries.
  // Unknown users are checked against a dummy hash: the timing does not tell who exists.
  const std::string& stored = credentials ? credentials->password_hash : hashing->dummy_hash;
  auto check = co_await hashing_.run(
      [](BlockingContext&, const std::string& typed, const std::string& hash, const schema::Argon2Params& params) {
        return schema::verify_password(typed, hash, params);
      },
      password, stored, argon2);
  if (!credentials || check == schema::PasswordCheck::Mismatch) co_return Verdict::Rejected;
  if (!credentials->enabled) co_return Verdict::Disabled;
  std::string rehashed;
  if (check == schema::PasswordCheck::MatchNeedsRehash) {
    rehashed = co_await hashing_.run(
        [](BlockingContext&, const std::string& typed, const schema::Argon2Params& params) {
          return schema::hash_password(typed, params);
        },
        password, argon2);
  }
  co_await database_.run(
      [](BlockingContext& context, const schema::Credentials& found, const std::string& new_hash) {
        if (!new_hash.empty()) context.store().upgrade_password_hash(found.user_id, found.password_hash, new_hash);
        context.store().record_login(found.user_id);
        return true;
      },
      *credentials, rehashed);
  if (rehashed.empty()) {
    cache_.remember(user, password, *credentials, ticket, CredentialCache::Clock::now());
  } else {
    log::info("password_rehashed", {{"user", user}});  // its next login is checked against the new hash
  }
  co_return Verdict::Accepted;
}

}  // namespace postern::auth
