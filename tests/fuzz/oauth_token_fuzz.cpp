// Bearer token logins' parsers with arbitrary input: the SASL OAUTHBEARER and XOAUTH2 messages,
// base64url, and verify_jwt() against a fixed JWK Set (an RSA and a P-256 key whose private
// halves nobody has). No input may crash them, and none may verify: that would be a forgery.
//
// Input: the first byte chooses the parser (its value modulo 4: OAUTHBEARER, XOAUTH2,
// base64url, JWT); the rest is what it parses.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/oauth/base64url.hpp"
#include "server/oauth/jwt.hpp"
#include "server/smtp/sasl.hpp"

namespace {

using namespace postern::oauth;

constexpr std::string_view kJwks = R"({"keys": [
  {"kty": "RSA", "kid": "rsa", "e": "AQAB",
   "n": "u5dqqQ8X7QdEMq79pkQU0N2p4v3xnqbk5z0wvJ_2_WNPqIbO58pHAzjSWFDx3VRQY-EJ5OIqpCm-_-JlVMYARpiW-F8uDaa4bWzAm_zfwKIPROdqpSqnyBYr9ABg_yxfR5qJKAIUitGgy-1HVfcv1cLWmVD9q7v8FDs7FDauHOic7htoHI3DTQA3KCUOwSnxNRPXfkVHjY84iDwdqQCpY1sK3v62gBM7S8bv_wuOVC4uCn61f-4FO9mh4q4dky3KiVodP6i-MnO_l47Rwb9iD7ihTqHnwCsnAe4QeSisk3Ovcujp8EAKnE5FEu62by4-2c1ivvnJFl9dFMwcUJMi8Q"},
  {"kty": "EC", "kid": "ec", "crv": "P-256",
   "x": "8ZdJhOVeBLJRjOqVXlHNZC99Uy3bWR566w9VEUXYKPg", "y": "L80RZa5PPy6HTT8puFbR3h47bj_mrPjQN69Af6IP2lY"}]})";

void check(bool invariant) {
  if (!invariant) std::abort();
}

void bearer_message(const std::optional<smtp::BearerMessage>& message, bool user_required) {
  if (!message) return;
  check(!message->token.empty() && message->token.find_first_of(" \x01\r\n") == std::string::npos);
  check(!user_required || !message->user.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const Keys keys = parse_jwks(kJwks);
  static const JwtPolicy policy{"https://login.example.com/", {"postern"}, std::chrono::seconds{60}};
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0:
      bearer_message(smtp::parse_oauthbearer_message(input), false);
      break;
    case 1:
      bearer_message(smtp::parse_xoauth2_message(input), true);
      break;
    case 2:
      // Canonical both ways: what decodes encodes back to itself.
      if (const auto decoded = base64url_decode(input)) check(base64url_encode(*decoded) == input);
      check(base64url_decode(base64url_encode(input)) == input);
      break;
    default: {
      const JwtVerdict verdict = verify_jwt(input, keys, policy, std::chrono::system_clock::now());
      check(!verdict.ok() && verdict.claims.is_null());
      break;
    }
  }
  return 0;
}
