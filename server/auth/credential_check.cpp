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

enum class Verdict { Accepted, Rejected, Disabled, Unavailable };

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

CredentialCheck::CredentialCheck(BlockingPool& pool, schema::Argon2Params argon2,
                                 FailureThrottle::Limits limits)
    : pool_(pool), argon2_(argon2), throttle_(limits), dummy_hash_(schema::hash_password("postern-dummy", argon2)) {}

boost::asio::awaitable<smtp::AuthOutcome> CredentialCheck::verify(
    const smtp::VerifyCredentials& request, const std::string& client_address) {
  auto name = schema::normalize_user_name(request.user);
  const std::string user = name ? *name : std::string{};
  auto now = FailureThrottle::Clock::now();
  if (throttle_.blocked(client_address, user, now)) {
    log::warning("auth", {{"client", client_address}, {"user", request.user}, {"result", "throttled"}});
    metrics::smtp().auth_results.inc("throttled");
    co_return smtp::AuthOutcome::TooManyFailures;
  }

  // No proxy authorization: an authzid must name the user itself (RFC 4616 §2).
  bool acts_as_other = !request.authzid.empty() && request.authzid != request.user;
  Verdict verdict = Verdict::Rejected;
  if (name && !acts_as_other) {
    try {
      verdict = co_await pool_.run([&](BlockingContext& context) {
        auto credentials = context.store().credentials(user);
        if (!credentials) {
          schema::verify_password(request.password, dummy_hash_, argon2_);
          return Verdict::Rejected;
        }
        auto check = schema::verify_password(request.password, credentials->password_hash, argon2_);
        if (check == schema::PasswordCheck::Mismatch) return Verdict::Rejected;
        if (!credentials->enabled) return Verdict::Disabled;
        if (check == schema::PasswordCheck::MatchNeedsRehash) {
          context.store().upgrade_password_hash(credentials->user_id, credentials->password_hash,
                                                schema::hash_password(request.password, argon2_));
          log::info("password_rehashed", {{"user", user}});
        }
        context.store().record_login(credentials->user_id);
        return Verdict::Accepted;
      });
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
      co_return smtp::AuthOutcome::Accepted;
    case Verdict::Unavailable:
      co_return smtp::AuthOutcome::TemporaryFailure;
    case Verdict::Rejected:
    case Verdict::Disabled:
      break;
  }
  auto delay = throttle_.record_failure(client_address, user, FailureThrottle::Clock::now());
  boost::asio::steady_timer timer{co_await boost::asio::this_coro::executor, delay};
  co_await timer.async_wait(boost::asio::use_awaitable);
  co_return smtp::AuthOutcome::Rejected;
}

}  // namespace postern::auth
