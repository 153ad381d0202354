// See credential_cache.hpp.
#include "server/auth/credential_cache.hpp"

#include <sodium.h>

#include <stdexcept>

namespace postern::auth {

CredentialCache::CredentialCache(UserCacheLimits limits) : verified_(limits) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
  crypto_generichash_keygen(key_.data());
}

std::array<unsigned char, 32> CredentialCache::digest(const std::string& user, const std::string& password,
                                                      const std::string& stored_hash) const {
  static_assert(sizeof(std::array<unsigned char, 32>) >= crypto_generichash_BYTES);
  crypto_generichash_state state;
  crypto_generichash_init(&state, key_.data(), key_.size(), 32);
  // Each part with its length first, so no two different triples hash the same input.
  for (const std::string* part : {&user, &stored_hash, &password}) {
    const std::uint64_t length = part->size();
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(&length), sizeof length);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(part->data()), part->size());
  }
  std::array<unsigned char, 32> out;
  crypto_generichash_final(&state, out.data(), out.size());
  return out;
}

bool CredentialCache::matches(const std::string& user, const std::string& password, Clock::time_point now) const {
  auto entry = verified_.find(user, now);
  if (!entry) return false;
  const auto typed = digest(user, password, entry->stored_hash);
  return sodium_memcmp(typed.data(), entry->digest.data(), typed.size()) == 0;
}

void CredentialCache::remember(const std::string& user, const std::string& password,
                               const schema::Credentials& verified, UserCacheTicket ticket, Clock::time_point now) {
  verified_.store(user, VerifiedLogin{digest(user, password, verified.password_hash), verified.password_hash},
                  ticket, now);
}

}  // namespace postern::auth
