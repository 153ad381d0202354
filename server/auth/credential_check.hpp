// AUTH: checks a user name and password (or, with oauth: configured, a bearer token) against PostgreSQL, with Argon2id on the hashing pool
// (never on an I/O thread), refuses disabled users, replaces a legacy MD5 or outdated hash after
// a successful login, remembers verified logins (CredentialCache: a repeated login with the same
// password skips Argon2id and PostgreSQL), and brakes guessing through FailureThrottle (waits, then 421 for a network
// that keeps failing; never a lockout of the owner from a clean network).
//
//   smtp::Outcome outcome = co_await check.verify(request, client_address);   // or verify_bearer()
//   protocol.credentials_checked(std::move(outcome));
//
// A bearer token (a JWT: oauth/jwt.hpp) names its user in one claim; that user must exist and be
// enabled, as for a password, and the same throttle brakes failed tokens per client network.
#pragma once

#include "postern/schema/password.hpp"
#include "server/auth/credential_cache.hpp"
#include "server/auth/failure_throttle.hpp"
#include "server/oauth/jwks.hpp"
#include "server/oauth/jwt_policy.hpp"
#include "server/runtime/snapshot.hpp"
#include "server/smtp/step.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>

namespace postern {
class BlockingPool;
}

namespace postern::auth {

// What bearer tokens are checked against: oauth: of postern.yaml.
struct BearerSettings {
  std::shared_ptr<const oauth::Keys> keys;
  oauth::JwtPolicy policy;
  std::string user_claim = "email";  // the claim that names the user
};

class CredentialCheck {
 public:
  // `database` answers the credential lookups; `hashing` runs Argon2 and token signature checks
  // (no database use) and refuses at once when its queue is full. Without `bearer`, every token
  // is refused.
  CredentialCheck(BlockingPool& database, BlockingPool& hashing, schema::Argon2Params argon2,
                  FailureThrottle::Limits limits, UserCacheLimits cache_limits,
                  std::optional<BearerSettings> bearer = std::nullopt);

  // For the notification listener, which drops a changed user's entry.
  CredentialCache& cache() { return cache_; }

  // A reload: checks that begin from now on hash new passwords with `argon2` (and rehash older
  // hashes at login), are braked by `limits`, and verify tokens with `bearer`.
  void reconfigure(schema::Argon2Params argon2, FailureThrottle::Limits limits, UserCacheLimits cache_limits,
                   std::optional<BearerSettings> bearer);

  // The user name is normalised once, as mailadmin stores it ("Alice" -> "alice"), and an
  // accepted Outcome carries that form as its identity. The throttle's waits happen in here.
  // Accepted, Refused (bad credentials or disabled user), TemporaryFailure (lookup failed,
  // hashing queue full, or no check slot for this user in time: 454) or TooManyFailures
  // (throttled: 421).
  boost::asio::awaitable<smtp::Outcome> verify(const smtp::VerifyCredentials& request,
                                               const std::string& client_address);

  // The same for a bearer token: the token's user (normalised) is the identity; a `user` in the
  // request must be that one. The log names the user and why a token was refused, never the token.
  boost::asio::awaitable<smtp::Outcome> verify_bearer(const smtp::VerifyBearerToken& request,
                                                      const std::string& client_address);

  enum class Verdict { Accepted, Rejected, Disabled, Unavailable, Busy };

 private:
  // A token's verdict, whose it is (the claim's user, or who the client said when the token
  // names nobody) and why it was refused.
  struct BearerDecision {
    Verdict verdict = Verdict::Rejected;
    std::string user;
    std::string reason;
  };

  // Waits the attempt's delays and takes a check slot; false when none came in time.
  boost::asio::awaitable<bool> admit(FailureThrottle::Attempt& attempt);
  // Both lookups, with their failures as Unavailable or Busy.
  boost::asio::awaitable<Verdict> decide(const std::string& user, const std::string& password,
                                         const std::string& client_address);
  // The stored hash against the password; throws when PostgreSQL cannot answer.
  boost::asio::awaitable<Verdict> check_password(const std::string& user, const std::string& password);
  // The token, its claims, then the user (bearer_check.cpp); failures as Unavailable or Busy.
  boost::asio::awaitable<BearerDecision> decide_bearer(const smtp::VerifyBearerToken& request,
                                                       const std::string& client_address);
  boost::asio::awaitable<BearerDecision> check_token(const smtp::VerifyBearerToken& request);
  // An existing, enabled user; its login is recorded. Throws when PostgreSQL cannot answer.
  boost::asio::awaitable<Verdict> check_token_user(const std::string& user);

  BlockingPool& database_;
  BlockingPool& hashing_;
  // The cost of new hashes, and the dummy hash made at that cost: verified for unknown users,
  // so timing does not reveal who exists.
  struct Hashing {
    schema::Argon2Params argon2;
    std::string dummy_hash;
  };
  static Hashing hashing_at(schema::Argon2Params argon2);

  Snapshot<Hashing> hashing_settings_;
  FailureThrottle throttle_;
  CredentialCache cache_;
  Snapshot<std::optional<BearerSettings>> bearer_;  // none: every token is refused
};

}  // namespace postern::auth
