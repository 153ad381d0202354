// JWK Sets (server/oauth/jwks.hpp) and base64url: which keys are used, which sets are refused,
// and a reload that fails keeps the keys.
#include "server/oauth/jwks.hpp"

#include "server/oauth/base64url.hpp"
#include "tests/unit/oauth_test_keys.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace {

using namespace postern::oauth;
using namespace oauth_test;

TEST(OauthBase64url, DecodesWithoutPaddingAndRefusesEverythingElse) {
  EXPECT_EQ(base64url_decode(""), "");
  EXPECT_EQ(base64url_decode("Zg"), "f");
  EXPECT_EQ(base64url_decode("Zm8"), "fo");
  EXPECT_EQ(base64url_decode("Zm9v"), "foo");
  EXPECT_EQ(base64url_decode("-_8"), "\xfb\xff");
  EXPECT_EQ(base64url_decode("Zg=="), std::nullopt);  // padding
  EXPECT_EQ(base64url_decode("Z"), std::nullopt);     // no byte count has 1 mod 4 characters
  EXPECT_EQ(base64url_decode("Zh"), std::nullopt);    // unused bits set
  EXPECT_EQ(base64url_decode("+/8"), std::nullopt);   // the base64 alphabet, not base64url
  EXPECT_EQ(base64url_decode("Zm 9v"), std::nullopt);
  for (const std::string bytes : {"", "a", "ab", "abc", "\xff\xfe\x00\x01"}) {
    EXPECT_EQ(base64url_decode(base64url_encode(bytes)), bytes);
  }
}

TEST(OauthJwks, ParsesRsaAndP256Keys) {
  const Keys keys = parse_jwks(jwk_set({rsa_key().jwk("r"), p256_key().jwk("")}));
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].kid, "r");
  EXPECT_EQ(keys[0].algorithm, Algorithm::RS256);
  EXPECT_EQ(keys[1].kid, "");
  EXPECT_EQ(keys[1].algorithm, Algorithm::ES256);
}

TEST(OauthJwks, LeavesOutKeysForOtherUsesAndTypes) {
  Json encryption = rsa_key().jwk("enc");
  encryption["use"] = "enc";
  Json rs512 = rsa_key().jwk("rs512");
  rs512["alg"] = "RS512";
  const Json hmac = {{"kty", "oct"}, {"k", "c2VjcmV0"}, {"kid", "hmac"}};
  Json okp = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}};
  const Keys keys = parse_jwks(jwk_set({encryption, rs512, hmac, okp, p256_key().jwk("ec")}));
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].kid, "ec");
}

TEST(OauthJwks, RefusesBrokenSets) {
  Json short_x = p256_key().jwk("ec");
  short_x["x"] = base64url_encode("short");
  Json off_curve = p256_key().jwk("ec");
  off_curve["y"] = off_curve["x"];
  Json p384 = p256_key().jwk("ec");
  p384["crv"] = "P-384";
  Json no_n = rsa_key().jwk("r");
  no_n.erase("n");
  Json padded_e = rsa_key().jwk("r");
  padded_e["e"] = "AQAB==";
  const Json small_rsa = {{"kty", "RSA"}, {"n", base64url_encode(std::string(128, '\xff'))}, {"e", "AQAB"}};
  for (const std::string& text : {std::string("not json"), std::string("[]"), std::string(R"({"keys": {}})"),
                                  std::string(R"({"keys": []})"), std::string(R"({"keys": [7]})"),
                                  jwk_set({short_x}), jwk_set({off_curve}), jwk_set({p384}), jwk_set({no_n}),
                                  jwk_set({padded_e}), jwk_set({small_rsa})}) {
    EXPECT_THROW(parse_jwks(text), JwksError) << text;
  }
}

class OauthJwksFile : public ::testing::Test {
 protected:
  void write(const std::string& text) {
    std::ofstream(path_) << text;
  }
  void TearDown() override { std::filesystem::remove(path_); }
  const std::string path_ = (std::filesystem::temp_directory_path() /
                             ("postern-jwks-test-" + std::to_string(::getpid()) + ".json")).string();
};

// What a reload compares: the same text is the same set; a new one is read anew.
TEST_F(OauthJwksFile, ReadAgainItGivesTheNewKeysAndComparesByItsText) {
  write(jwk_set({rsa_key().jwk("first")}));
  const JwkSet first = load_jwks_file(path_);
  EXPECT_EQ(first.keys->at(0).kid, "first");
  EXPECT_TRUE(load_jwks_file(path_) == first);
  write(jwk_set({p256_key().jwk("second")}));
  const JwkSet second = load_jwks_file(path_);
  EXPECT_EQ(second.keys->at(0).kid, "second");
  EXPECT_FALSE(second == first);
}

TEST_F(OauthJwksFile, ABrokenOrMissingFileThrowsNamingIt) {
  write(R"({"keys": []})");
  try {
    load_jwks_file(path_);
    FAIL() << "an empty set was accepted";
  } catch (const JwksError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path_ + ": ", 0), 0u) << e.what();
  }
  std::filesystem::remove(path_);
  try {
    load_jwks_file(path_);
    FAIL() << "a missing file was read";
  } catch (const JwksError& e) {
    EXPECT_NE(std::string(e.what()).find(path_ + ": cannot read"), std::string::npos) << e.what();
  }
}

}  // namespace
