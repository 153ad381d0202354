// Bearer tokens that are JWTs (RFC 7519) in JWS compact form (RFC 7515 §7.1), signed with RS256
// or ES256 by a key of the issuer's JWK Set: header.payload.signature, each base64url without
// padding. verify_jwt() parses, picks the key, verifies the signature, then checks the claims:
// `iss` must be the issuer, `aud` (a string or an array of strings) must name one of the
// audiences, `exp` must be given and not past, `nbf`, when given, reached; both with the leeway.
// Every other algorithm is refused, `none` and HS256 above all (an HMAC keyed with a public key
// is forgeable). A token with a `kid` is verified with that key only; one without is tried
// against every key of its algorithm.
//
//   JwtVerdict verdict = verify_jwt(token, *keys.current(), policy, now);
//   if (!verdict.ok()) log(describe(verdict.error));
//   verdict.claims["email"] ...
#pragma once

#include "server/oauth/jwks.hpp"
#include "server/oauth/jwt_policy.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace postern::oauth {

enum class JwtError {
  None,
  Malformed,             // not three base64url parts of JSON objects, or a bad header or claim type
  UnsupportedAlgorithm,  // alg other than RS256 and ES256
  UnknownKey,            // no key of the set has its kid (or its alg, without kid)
  BadSignature,          // no key verifies it, or the signature has the wrong form or length
  WrongIssuer,
  WrongAudience,
  NoExpiry,              // no exp claim: a token valid forever is refused
  Expired,
  NotYetValid,
};

// A few words for the log: "expired", "bad signature", ...
std::string_view describe(JwtError error);

struct JwtVerdict {
  JwtError error = JwtError::Malformed;
  // The payload once the signature verified, also when a claim is refused after: whose token
  // it was, for the log. Null otherwise.
  nlohmann::json claims;
  bool ok() const { return error == JwtError::None; }
};

JwtVerdict verify_jwt(std::string_view token, const Keys& keys, const JwtPolicy& policy,
                      std::chrono::system_clock::time_point now);

}  // namespace postern::oauth
