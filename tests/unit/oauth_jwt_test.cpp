// JWT verification (server/oauth/jwt.hpp): the accepted RS256 and ES256 tokens, and every way a
// token is refused.
#include "server/oauth/jwt.hpp"

#include "tests/unit/oauth_test_keys.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace {

using namespace postern::oauth;
using namespace oauth_test;

constexpr std::int64_t kNow = 1'800'000'000;
const auto now = std::chrono::system_clock::time_point{std::chrono::seconds{kNow}};

JwtPolicy policy() { return {"https://login.example.com/", {"postern", "other"}, std::chrono::seconds{60}}; }

Json claims() {
  return {{"iss", "https://login.example.com/"}, {"aud", "postern"}, {"email", "alice@example.com"},
          {"exp", kNow + 300}, {"nbf", kNow - 10}, {"iat", kNow - 10}};
}

Keys keys() { return parse_jwks(jwk_set({rsa_key().jwk("rsa1"), p256_key().jwk("ec1")})); }

JwtVerdict verify(const std::string& token) { return verify_jwt(token, keys(), policy(), now); }

std::string rs256(const Json& payload = claims()) { return rsa_key().token({{"alg", "RS256"}, {"kid", "rsa1"}}, payload); }

// header.payload with the given parts and a signature of them by the RSA key.
std::string signed_parts(const std::string& header_part, const std::string& payload_part) {
  const std::string input = header_part + "." + payload_part;
  return input + "." + base64url_encode(rsa_key().sign(input));
}

TEST(OauthJwt, Rs256TokenIsAccepted) {
  const JwtVerdict verdict = verify(rs256());
  ASSERT_TRUE(verdict.ok()) << describe(verdict.error);
  EXPECT_EQ(verdict.claims["email"], "alice@example.com");
}

TEST(OauthJwt, Es256TokenIsAccepted) {
  const JwtVerdict verdict = verify(p256_key().token({{"alg", "ES256"}, {"kid", "ec1"}, {"typ", "JWT"}}, claims()));
  ASSERT_TRUE(verdict.ok()) << describe(verdict.error);
  EXPECT_EQ(verdict.claims["email"], "alice@example.com");
}

TEST(OauthJwt, TokenWithoutKidIsTriedAgainstTheKeysOfItsAlgorithm) {
  const Keys two_rsa = parse_jwks(jwk_set({TestKey(TestKey::Type::Rsa).jwk("other"), rsa_key().jwk("rsa1")}));
  EXPECT_TRUE(verify_jwt(rsa_key().token({{"alg", "RS256"}}, claims()), two_rsa, policy(), now).ok());
  EXPECT_TRUE(verify(p256_key().token({{"alg", "ES256"}}, claims())).ok());
}

TEST(OauthJwt, AudienceMayBeAnArrayThatNamesOneOfOurs) {
  Json payload = claims();
  payload["aud"] = {"someone-else", "other"};
  EXPECT_TRUE(verify(rs256(payload)).ok());
}

TEST(OauthJwt, BadSignatureIsRefused) {
  std::string token = rs256();
  // Another issuer's key signed it: the same header and claims, a signature that does not verify.
  const std::string forged = TestKey(TestKey::Type::Rsa).token({{"alg", "RS256"}, {"kid", "rsa1"}}, claims());
  EXPECT_EQ(verify(forged).error, JwtError::BadSignature);
  // One claim changed after signing.
  Json changed = claims();
  changed["email"] = "mallory@example.com";
  const std::size_t first = token.find('.');
  const std::size_t second = token.find('.', first + 1);
  token = token.substr(0, first + 1) + base64url_encode(changed.dump()) + token.substr(second);
  EXPECT_EQ(verify(token).error, JwtError::BadSignature);
}

TEST(OauthJwt, WrongIssuerIsRefused) {
  Json payload = claims();
  payload["iss"] = "https://login.example.com";  // no trailing slash: another string
  const JwtVerdict verdict = verify(rs256(payload));
  EXPECT_EQ(verdict.error, JwtError::WrongIssuer);
  EXPECT_EQ(verdict.claims["email"], "alice@example.com");  // verified, for the log
  payload.erase("iss");
  EXPECT_EQ(verify(rs256(payload)).error, JwtError::WrongIssuer);
}

TEST(OauthJwt, WrongAudienceIsRefused) {
  Json payload = claims();
  payload["aud"] = "somebody-else";
  EXPECT_EQ(verify(rs256(payload)).error, JwtError::WrongAudience);
  payload["aud"] = Json::array({"a", "b"});
  EXPECT_EQ(verify(rs256(payload)).error, JwtError::WrongAudience);
  payload.erase("aud");
  EXPECT_EQ(verify(rs256(payload)).error, JwtError::WrongAudience);
}

TEST(OauthJwt, ExpiredTokenIsRefusedPastTheLeeway) {
  Json payload = claims();
  payload["exp"] = kNow - 59;  // within the leeway of 60 s
  EXPECT_TRUE(verify(rs256(payload)).ok());
  payload["exp"] = kNow - 60;
  EXPECT_EQ(verify(rs256(payload)).error, JwtError::Expired);
  payload.erase("exp");
  EXPECT_EQ(verify(rs256(payload)).error, JwtError::NoExpiry);
  payload["exp"] = "tomorrow";
  EXPECT_EQ(verify(rs256(payload)).error, JwtError::Malformed);
}

TEST(OauthJwt, NotYetValidTokenIsRefusedPastTheLeeway) {
  Json payload = claims();
  payload["nbf"] = kNow + 60;
  EXPECT_TRUE(verify(rs256(payload)).ok());
  payload["nbf"] = kNow + 61;
  EXPECT_EQ(verify(rs256(payload)).error, JwtError::NotYetValid);
}

TEST(OauthJwt, AlgNoneIsRefused) {
  const std::string unsigned_token =
      base64url_encode(R"({"alg":"none"})") + "." + base64url_encode(claims().dump()) + ".";
  EXPECT_EQ(verify(unsigned_token).error, JwtError::UnsupportedAlgorithm);
  EXPECT_EQ(verify(signed_parts(base64url_encode(R"({"alg":"none","kid":"rsa1"})"),
                                base64url_encode(claims().dump()))).error,
            JwtError::UnsupportedAlgorithm);
}

// An HMAC "keyed" with the RSA public key: the classic algorithm confusion.
TEST(OauthJwt, Hs256IsRefused) {
  const std::string input = base64url_encode(R"({"alg":"HS256","kid":"rsa1"})") + "." + base64url_encode(claims().dump());
  EXPECT_EQ(verify(input + "." + base64url_encode(std::string(32, 'x'))).error, JwtError::UnsupportedAlgorithm);
  for (const char* other : {"RS512", "PS256", "ES384", "EdDSA", "rs256"}) {
    const Json header = {{"alg", other}};
    EXPECT_EQ(verify(signed_parts(base64url_encode(header.dump()), base64url_encode(claims().dump()))).error,
              JwtError::UnsupportedAlgorithm)
        << other;
  }
}

TEST(OauthJwt, UnknownKeyIdIsRefused) {
  EXPECT_EQ(verify(rsa_key().token({{"alg", "RS256"}, {"kid", "rotated-away"}}, claims())).error, JwtError::UnknownKey);
  // The kid of a key of the other algorithm.
  EXPECT_EQ(verify(rsa_key().token({{"alg", "RS256"}, {"kid", "ec1"}}, claims())).error, JwtError::UnknownKey);
  // No key of its algorithm at all.
  const Keys only_ec = parse_jwks(jwk_set({p256_key().jwk("ec1")}));
  EXPECT_EQ(verify_jwt(rsa_key().token({{"alg", "RS256"}}, claims()), only_ec, policy(), now).error,
            JwtError::UnknownKey);
}

TEST(OauthJwt, MalformedTokensAreRefused) {
  const std::string header = base64url_encode(R"({"alg":"RS256","kid":"rsa1"})");
  const std::string payload = base64url_encode(claims().dump());
  const std::string good = rs256();
  for (const std::string& token : {
           std::string(), std::string("abc"), header + "." + payload, good + ".", "." + good,
           good + "=",                                           // padding
           signed_parts(header + "=", payload),                  // padding in the header
           signed_parts(header, payload.substr(0, payload.size() - 1) + "*"),  // not base64url
           signed_parts(header, base64url_encode("{\"iss\": ")),                // not JSON
           signed_parts(header, base64url_encode("[1, 2]")),                    // not an object
           signed_parts(base64url_encode("\"RS256\""), payload),                // header not an object
           signed_parts(base64url_encode(R"({"kid":"rsa1"})"), payload),        // no alg
           signed_parts(base64url_encode(R"({"alg":256})"), payload),
           signed_parts(base64url_encode(R"({"alg":"RS256","kid":7})"), payload),
           signed_parts(base64url_encode(R"({"alg":"RS256","crit":["exp"]})"), payload),
       }) {
    EXPECT_EQ(verify(token).error, JwtError::Malformed) << token;
  }
}

TEST(OauthJwt, Es256WithADerSignatureIsRefused) {
  const Json header = {{"alg", "ES256"}, {"kid", "ec1"}};
  const std::string input = base64url_encode(header.dump()) + "." + base64url_encode(claims().dump());
  const std::string der = p256_key().sign(input, true);
  EXPECT_EQ(verify(input + "." + base64url_encode(der)).error, JwtError::BadSignature);
  EXPECT_TRUE(verify(input + "." + base64url_encode(p256_key().sign(input))).ok());
}

TEST(OauthJwt, SignaturesOfTheWrongLengthAreRefused) {
  const Json es_header = {{"alg", "ES256"}, {"kid", "ec1"}};
  const std::string es_input = base64url_encode(es_header.dump()) + "." + base64url_encode(claims().dump());
  const std::string raw = p256_key().sign(es_input);
  EXPECT_EQ(verify(es_input + "." + base64url_encode(raw.substr(0, 63))).error, JwtError::BadSignature);
  EXPECT_EQ(verify(es_input + "." + base64url_encode(raw + '\0')).error, JwtError::BadSignature);
  EXPECT_EQ(verify(es_input + ".").error, JwtError::BadSignature);

  const std::string rs = rs256();
  const std::string input = rs.substr(0, rs.rfind('.'));
  const std::string signature = rsa_key().sign(input);
  EXPECT_EQ(verify(input + "." + base64url_encode(signature.substr(1))).error, JwtError::BadSignature);
  EXPECT_EQ(verify(input + "." + base64url_encode('\0' + signature)).error, JwtError::BadSignature);
}

TEST(OauthJwt, DescribeNamesEveryReason) {
  EXPECT_EQ(describe(JwtError::Expired), "expired");
  EXPECT_EQ(describe(JwtError::BadSignature), "bad signature");
  EXPECT_EQ(describe(JwtError::WrongIssuer), "wrong issuer");
}

}  // namespace
