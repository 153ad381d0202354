// Password hashing: Argon2id (libsodium) in PHC string form for every new hash; the Secure
// Emailing unsalted MD5, stored as "$legacy-md5$<hex>", is only ever verified, so that the next
// successful login can replace it. Both calls cost tens of milliseconds by design: callers on an
// I/O thread must run them on a blocking pool.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace postern::schema {

// Defaults no weaker than OWASP's m=19 MiB, t=2, p=1 (libsodium fixes p at 1).
struct Argon2Params {
  std::uint32_t memory_kib = 19 * 1024;
  std::uint32_t iterations = 2;
};

// Returns "$argon2id$v=19$m=...,t=...,p=1$salt$hash". Throws InvalidInput for an empty password
// or parameters libsodium refuses.
std::string hash_password(std::string_view password, const Argon2Params& params = {});

enum class PasswordCheck {
  Mismatch,          // wrong password, or a stored value that is no known hash
  Match,             // right password, hash is current
  MatchNeedsRehash,  // right password, but legacy MD5 or weaker parameters: store a new hash
};

// Constant-time comparison for both schemes.
PasswordCheck verify_password(std::string_view password, std::string_view stored,
                              const Argon2Params& wanted = {});

// True for a "$legacy-md5$" value (shown by `mailadmin show user`).
bool is_legacy_hash(std::string_view stored);

}  // namespace postern::schema
