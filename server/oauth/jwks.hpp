// The keys bearer tokens are verified with: a JWK Set (RFC 7517 §5) of the issuer's public keys,
// RSA (kty RSA: n, e; at least 2048 bits) for RS256 and EC on P-256 (kty EC, crv P-256: x, y) for
// ES256. A key's `alg`, when given, must agree with its type; keys meant for something else (`use`
// other than "sig") and of other types (symmetric "oct" keys above all) are left out, so an IdP's
// whole JWKS can be used as it is. A key that claims to be RSA or P-256 but is broken is an
// error, as is a set with no usable key.
//
//   JwkSet set = load_jwks_file("/etc/postern/jwks.json");   // throws JwksError, naming what is wrong
//   verify_jwt(token, *set.keys, policy, now);
//
// The config loader reads the file, at start and at every SIGHUP: a reload whose file is broken is
// refused as a whole, and the keys stay as they were.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace postern::oauth {

struct JwksError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The JWS algorithms Postern accepts (RFC 7518 §3.1); every other one is refused.
enum class Algorithm { RS256, ES256 };

std::string_view algorithm_name(Algorithm algorithm);
std::optional<Algorithm> algorithm_named(std::string_view name);

struct PublicKey {
  std::string kid;  // empty when the JWK has none
  Algorithm algorithm;
  std::shared_ptr<EVP_PKEY> key;
};

using Keys = std::vector<PublicKey>;

// The usable keys of a JWK Set's JSON text. Throws JwksError.
Keys parse_jwks(std::string_view json);

// A JWK Set file as read: its text, which a reload compares, and its usable keys.
struct JwkSet {
  std::string text;
  std::shared_ptr<const Keys> keys;

  friend bool operator==(const JwkSet& a, const JwkSet& b) { return a.text == b.text; }
};

// The one place the library reads a file. Throws JwksError naming it.
JwkSet load_jwks_file(const std::string& path);

}  // namespace postern::oauth
