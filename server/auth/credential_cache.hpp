// Verified logins, remembered so that a client which logs in again with the same password skips
// Argon2id (tens of milliseconds of a core) and the credential lookup: after a full verification,
// remember() keeps for the user a keyed BLAKE2b digest of the password and the stored hash it was
// verified against, under a random key made at start and never stored or logged; matches() is
// true only for the same password while the entry lives. The entry goes when its TTL passes, when
// PostgreSQL notifies that the user changed (a new password, disabled, deleted: UserCache), and
// with every entry while the relay cannot hear PostgreSQL. Failed logins are never remembered.
//
//   auto ticket = cache.ticket();                      // before the lookup
//   if (cache.matches(user, password, now)) ...        // accepted
//   ... full check ...; cache.remember(user, password, credentials, ticket, now);
#pragma once

#include "postern/schema/store.hpp"
#include "server/runtime/user_cache.hpp"

#include <array>
#include <string>

namespace postern::auth {

struct VerifiedLogin {
  std::array<unsigned char, 32> digest;  // of the user, the stored hash and the password
  std::string stored_hash;               // the hash the password was verified against
};

class CredentialCache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit CredentialCache(UserCacheLimits limits);

  UserCacheTicket ticket() const { return verified_.ticket(); }
  bool matches(const std::string& user, const std::string& password, Clock::time_point now) const;
  void remember(const std::string& user, const std::string& password, const schema::Credentials& verified,
                UserCacheTicket ticket, Clock::time_point now);

  // For the notification listener: invalidate(user), invalidate_all(), set_listening().
  UserCache<VerifiedLogin>& entries() { return verified_; }

 private:
  std::array<unsigned char, 32> digest(const std::string& user, const std::string& password,
                                       const std::string& stored_hash) const;

  std::array<unsigned char, 32> key_;
  UserCache<VerifiedLogin> verified_;
};

}  // namespace postern::auth
