// Argon2id through libsodium, legacy MD5 through OpenSSL. See password.hpp.
#include "postern/schema/password.hpp"

#include "postern/schema/errors.hpp"
#include "postern/schema/hex.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <mutex>

namespace postern::schema {
namespace {

constexpr std::string_view kLegacyPrefix = "$legacy-md5$";

void init_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  });
}

std::size_t memory_bytes(const Argon2Params& params) {
  return static_cast<std::size_t>(params.memory_kib) * 1024;
}

std::string md5_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_md5(), nullptr);
  return lower_hex(digest, length);
}

}  // namespace

bool is_legacy_hash(std::string_view stored) { return stored.starts_with(kLegacyPrefix); }

std::string hash_password(std::string_view password, const Argon2Params& params) {
  init_sodium();
  if (password.empty()) throw InvalidInput("password must not be empty");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), params.iterations,
                            memory_bytes(params), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw InvalidInput("cannot hash password with m=" + std::to_string(params.memory_kib) +
                       " KiB, t=" + std::to_string(params.iterations));
  }
  return out;
}

PasswordCheck verify_password(std::string_view password, std::string_view stored,
                              const Argon2Params& wanted) {
  init_sodium();
  if (is_legacy_hash(stored)) {
    std::string_view expected = stored.substr(kLegacyPrefix.size());
    std::string actual = md5_hex(password);
    if (expected.size() != actual.size()) return PasswordCheck::Mismatch;
    return sodium_memcmp(expected.data(), actual.data(), actual.size()) == 0
               ? PasswordCheck::MatchNeedsRehash
               : PasswordCheck::Mismatch;
  }
  if (!stored.starts_with("$argon2id$")) return PasswordCheck::Mismatch;
  // libsodium wants a NUL-terminated string that fits its buffer.
  if (stored.size() >= crypto_pwhash_STRBYTES) return PasswordCheck::Mismatch;
  std::string hash{stored};
  if (crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) != 0) {
    return PasswordCheck::Mismatch;
  }
  return crypto_pwhash_str_needs_rehash(hash.c_str(), wanted.iterations, memory_bytes(wanted)) == 0
             ? PasswordCheck::Match
             : PasswordCheck::MatchNeedsRehash;
}

}  // namespace postern::schema
