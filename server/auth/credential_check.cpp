// See credential_check.hpp.
#include "server/auth/credential_check.hpp"

#include "postern/schema/address.hpp"
#include "postern/schema/errors.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/metrics.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace postern::auth {
namespace {

using Verdict = CredentialCheck::Verdict;

const char* name_of(Verdict verdict) {
  switch (verdict) {
    case Verdict::Accepted: return "accepted";
    case Verdict::Rejected: return "rejected";
    case Verdict::Disabled: return "disabled";
    case Verdict::Unavailable: return "unavailable";
  }
  return "unknown";
}

}  // namespace

CredentialCheck::CredentialCheck(BlockingPool& database, BlockingPool& hashing,
                                 schema::Argon2Params argon2, FailureThrottle::Limits limits)
    : database_(database),
      hashing_(hashing), argon2_(argon2), throttle_(limits), dummy_hash_(schema::hash_password("postern-dummy", argon2)) {}

boost::asio::awaitable<smtp::Outcome> CredentialCheck::verify(
    const smtp::VerifyCredentials& request, const std::string& client_address) {
  auto name = schema::normalize_user_name(request.user);
  const std::string user = name ? *name : std::string{};
  auto now = FailureThrottle::Clock::now();
  if (throttle_.blocked(client_address, user, now)) {
    log::warning("auth", {{"client", client_address}, {"user", request.user}, {"result", "throttled"}});
    metrics::smtp().auth_results.inc("throttled");
    co_return smtp::Outcome::too_many_failures();
  }

  // No proxy authorization: an authzid must name the user itself (RFC 4616 §2).
  const bool acts_as_other = !request.authzid.empty() && request.authzid != request.user;
  Verdict verdict = Verdict::Rejected;
  if (name && !acts_as_other) {
    try {
      verdict = co_await check_password(user, request.password);
    } catch (const std::exception& e) {
      log::warning("auth_lookup_failed", {{"client", client_address}, {"error", e.what()}});
      verdict = Verdict::Unavailable;
    }
  }

  log::info("auth", {{"client", client_address}, {"user", user.empty() ? request.user : user},
                     {"result", name_of(verdict)}});
  metrics::smtp().auth_results.inc(name_of(verdict));
  switch (verdict) {
    case Verdict::Accepted:
      throttle_.record_success(user);
      co_return smtp::Outcome::accepted();
    case Verdict::Unavailable:
      co_return smtp::Outcome::temporary_failure();
    case Verdict::Rejected:
    case Verdict::Disabled:
      break;
  }
  auto delay = throttle_.record_failure(client_address, user, FailureThrottle::Clock::now());
  boost::asio::steady_timer timer{co_await boost::asio::this_coro::executor, delay};
  co_await timer.async_wait(boost::asio::use_awaitable);
  co_return smtp::Outcome::refused();
}

boost::asio::awaitable<CredentialCheck::Verdict> CredentialCheck::check_password(const std::string& user,
                                                                              const std::string& password) {
  auto credentials = co_await database_.run([&](BlockingContext& context) { return context.store().credentials(user); });
  // Argon2 runs on its own threads, so logins never hold up other sessions' queries.
  // Unknown users are checked against a dummy hash: the timing does not tell who exists.
  auto check = co_await hashing_.run([&](BlockingContext&) {
    return schema::verify_password(password, credentials ? credentials->password_hash : dummy_hash_, argon2_);
  });
  if (!credentials || check == schema::PasswordCheck::Mismatch) co_return Verdict::Rejected;
  if (!credentials->enabled) co_return Verdict::Disabled;
  std::string rehashed;
  if (check == schema::PasswordCheck::MatchNeedsRehash) {
    rehashed = co_await hashing_.run([&](BlockingContext&) { return schema::hash_password(password, argon2_); });
  }
  co_await database_.run([&](BlockingContext& context) {
    if (!rehashed.empty()) {
      context.store().upgrade_password_hash(credentials->user_id, credentials->password_hash, rehashed);
    }
    context.store().record_login(credentials->user_id);
    return true;
  });
  if (!rehashed.empty()) log::info("password_rehashed", {{"user", user}});
  co_return Verdict::Accepted;
}

}  // namespace postern::auth
