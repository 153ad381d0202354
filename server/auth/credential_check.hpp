// AUTH: checks a user name and password against PostgreSQL on the blocking pool (Argon2id never
// runs on an I/O thread), refuses disabled users, replaces a legacy MD5 or outdated hash after a
// successful login, and brakes brute force through FailureThrottle (growing delays, then 421).
//
//   smtp::Outcome outcome = co_await check.verify(request, client_address);
//   protocol.credentials_checked(std::move(outcome));
#pragma once

#include "postern/schema/password.hpp"
#include "server/auth/failure_throttle.hpp"
#include "server/smtp/step.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace postern {
class BlockingPool;
}

namespace postern::auth {

class CredentialCheck {
 public:
  // `database` answers the credential lookups; `hashing` runs Argon2 (no database use).
  CredentialCheck(BlockingPool& database, BlockingPool& hashing, schema::Argon2Params argon2,
                  FailureThrottle::Limits limits);

  // The user name is normalised as mailadmin stores it. The reply to a failure is delayed here.
  // Accepted, Refused (bad credentials or disabled user), TemporaryFailure (lookup failed) or
  // TooManyFailures (throttled); never with a reply of its own.
  boost::asio::awaitable<smtp::Outcome> verify(const smtp::VerifyCredentials& request,
                                               const std::string& client_address);

  enum class Verdict { Accepted, Rejected, Disabled, Unavailable };

 private:
  // The stored hash against the password; throws when PostgreSQL cannot answer.
  boost::asio::awaitable<Verdict> check_password(const std::string& user, const std::string& password);

  BlockingPool& database_;
  BlockingPool& hashing_;
  schema::Argon2Params argon2_;
  FailureThrottle throttle_;
  std::string dummy_hash_;  // verified for unknown users, so timing does not reveal who exists
};

}  // namespace postern::auth
