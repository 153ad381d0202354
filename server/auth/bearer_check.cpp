// CredentialCheck's bearer tokens (credential_check.hpp): the JWT's signature and claims, the
// user its claim names, and that user in PostgreSQL. The token itself is never logged.
#include "server/auth/credential_check.hpp"

#include "postern/schema/address.hpp"
#include "server/oauth/jwt.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/log.hpp"

#include <chrono>

namespace postern::auth {

boost::asio::awaitable<CredentialCheck::BearerDecision> CredentialCheck::decide_bearer(
    const smtp::VerifyBearerToken& request, const std::string& client_address) {
  BearerDecision decision;
  try {
    decision = co_await check_token(request);
    if (decision.verdict == Verdict::Accepted) {
      decision.verdict = co_await check_token_user(decision.user);
      if (decision.verdict == Verdict::Rejected) decision.reason = "unknown user";
    }
  } catch (const PoolFull& e) {
    log::warning("auth_busy", {{"client", client_address}, {"error", e.what()}});
    decision.verdict = Verdict::Busy;
  } catch (const std::exception& e) {
    log::warning("auth_lookup_failed", {{"client", client_address}, {"error", e.what()}});
    decision.verdict = Verdict::Unavailable;
  }
  if (decision.verdict == Verdict::Disabled) decision.reason = "user disabled";
  co_return decision;
}

boost::asio::awaitable<CredentialCheck::BearerDecision> CredentialCheck::check_token(
    const smtp::VerifyBearerToken& request) {
  BearerDecision decision{Verdict::Rejected, request.user, ""};
  const std::shared_ptr<const std::optional<BearerSettings>> settings = bearer_.get();  // this check's
  const std::optional<BearerSettings>& bearer = *settings;
  if (!bearer) {
    decision.reason = "oauth not configured";
    co_return decision;
  }
  // A signature check costs a few hundred microseconds of a core: on the hashing threads, as
  // Argon2, so a flood of tokens cannot hold up the I/O threads.
  oauth::JwtVerdict verdict = co_await hashing_.run(
      [](BlockingContext&, const std::string& token, const std::shared_ptr<const oauth::Keys>& keys,
         const oauth::JwtPolicy& policy) {
        return oauth::verify_jwt(token, *keys, policy, std::chrono::system_clock::now());
      },
      request.token, bearer->keys, bearer->policy);
  // Whose token it is, once its signature verified; else only who the client said.
  const auto claim = verdict.claims.is_object() ? verdict.claims.find(bearer->user_claim) : verdict.claims.end();
  if (claim != verdict.claims.end() && claim->is_string()) decision.user = claim->get<std::string>();
  if (!verdict.ok()) {
    decision.reason = oauth::describe(verdict.error);
    co_return decision;
  }
  const auto user = schema::normalize_user_name(decision.user);
  if (!user) {
    decision.reason = "no user name in the " + bearer->user_claim + " claim";
    co_return decision;
  }
  decision.user = *user;
  // No proxy authorization: the name the client gave must be the token's user.
  if (!request.user.empty()) {
    const auto asserted = schema::normalize_user_name(request.user);
    if (!asserted || *asserted != *user) {
      decision.reason = "the client's user name is not the token's";
      co_return decision;
    }
  }
  decision.verdict = Verdict::Accepted;
  co_return decision;
}

boost::asio::awaitable<CredentialCheck::Verdict> CredentialCheck::check_token_user(const std::string& user) {
  auto credentials = co_await database_.run(
      [](BlockingContext& context, const std::string& name) { return context.store().credentials(name); }, user);
  if (!credentials) co_return Verdict::Rejected;
  if (!credentials->enabled) co_return Verdict::Disabled;
  co_await database_.run(
      [](BlockingContext& context, std::int64_t user_id) {
        context.store().record_login(user_id);
        return true;
      },
      credentials->user_id);
  co_return Verdict::Accepted;
}

}  // namespace postern::auth
