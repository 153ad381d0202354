// oauth: of postern.yaml: its keys and defaults, the audience as one string or a list, and the
// errors, naming file, line and key, for what is missing or broken (the JWK Set file above all).
#include "tests/unit/config_test_support.hpp"
#include "tests/unit/oauth_test_keys.hpp"

#include <gtest/gtest.h>

namespace postern::config {
namespace {

using namespace test_support;

std::string oauth_section(const std::string& jwks_path, const std::string& extra = "") {
  return kMinimal + "oauth:\n  issuer: https://login.example.com/\n  audience: postern\n  jwks_file: " + jwks_path +
         "\n" + extra;
}

TEST(ConfigOauth, AbsentSectionOffersNoBearerLogins) { EXPECT_FALSE(parse(kMinimal).oauth); }

TEST(ConfigOauth, ReadsEveryKeyAndTheKeySet) {
  const TempFile jwks(oauth_test::jwk_set({oauth_test::p256_key().jwk("ec1")}));
  const Config c = parse(oauth_section(jwks.path(), "  user_claim: sub\n  leeway_seconds: 5\n  scope: mail\n"));
  ASSERT_TRUE(c.oauth);
  EXPECT_EQ(c.oauth->policy.issuer, "https://login.example.com/");
  EXPECT_EQ(c.oauth->policy.audiences, std::vector<std::string>{"postern"});
  EXPECT_EQ(c.oauth->policy.leeway, std::chrono::seconds{5});
  EXPECT_EQ(c.oauth->user_claim, "sub");
  EXPECT_EQ(c.oauth->scope, "mail");
  EXPECT_EQ(c.oauth->jwks_file, jwks.path());
  ASSERT_TRUE(c.oauth->jwks.keys);
  EXPECT_EQ(c.oauth->jwks.keys->at(0).kid, "ec1");
}

TEST(ConfigOauth, DefaultsAndAListOfAudiences) {
  const TempFile jwks(oauth_test::jwk_set({oauth_test::p256_key().jwk("")}));
  const Config c = parse(kMinimal + "oauth:\n  issuer: https://id.example/\n  audience: [postern, smtp]\n"
                                    "  jwks_file: " + jwks.path() + "\n");
  ASSERT_TRUE(c.oauth);
  EXPECT_EQ(c.oauth->policy.audiences, (std::vector<std::string>{"postern", "smtp"}));
  EXPECT_EQ(c.oauth->policy.leeway, std::chrono::seconds{60});
  EXPECT_EQ(c.oauth->user_claim, "email");
  EXPECT_EQ(c.oauth->scope, "");
}

TEST(ConfigOauth, StartUpLineNamesTheSettings) {
  const TempFile jwks(oauth_test::jwk_set({oauth_test::p256_key().jwk("")}));
  const std::string line = describe(parse(kMinimal + "oauth:\n  issuer: https://id.example/\n  audience: [a, b]\n"
                                                     "  jwks_file: " + jwks.path() + "\n"));
  EXPECT_NE(line.find(" oauth.issuer=https://id.example/ oauth.audience=a,b oauth.jwks_file=" + jwks.path() +
                      " oauth.user_claim=email oauth.leeway_seconds=60 sending_limits."),
            std::string::npos)
      << line;
  EXPECT_EQ(describe(parse(kMinimal)).find("oauth"), std::string::npos);
}

TEST(ConfigOauth, ErrorsNameFileLineAndKey) {
  const TempFile jwks(oauth_test::jwk_set({oauth_test::p256_key().jwk("")}));
  EXPECT_EQ(error_of(kMinimal + "oauth:\n  audience: postern\n  jwks_file: " + jwks.path() + "\n"),
            "postern.yaml:3: oauth.issuer: required in the oauth section");
  EXPECT_EQ(error_of(kMinimal + "oauth:\n  issuer: https://id.example/\n  jwks_file: " + jwks.path() + "\n"),
            "postern.yaml:3: oauth.audience: required in the oauth section (a string or a list of strings)");
  EXPECT_EQ(error_of(kMinimal + "oauth:\n  issuer: https://id.example/\n  audience: postern\n"),
            "postern.yaml:3: oauth.jwks_file: required in the oauth section");
  EXPECT_EQ(error_of(oauth_section(jwks.path(), "  user_claim: name\n")),
            "postern.yaml:7: oauth.user_claim: expected one of email, sub, got \"name\"");
  EXPECT_EQ(error_of(oauth_section(jwks.path(), "  leeway_seconds: 3601\n")),
            "postern.yaml:7: oauth.leeway_seconds: expected an integer from 0 to 3600, got \"3601\"");
  EXPECT_EQ(error_of(oauth_section("jwks.json")),
            "postern.yaml:6: oauth.jwks_file: expected an absolute path, got \"jwks.json\"");
  EXPECT_EQ(error_of(oauth_section(jwks.path(), "  scope: 'a\"b'\n")),
            "postern.yaml:7: oauth.scope: expected scope tokens separated by spaces (printable ASCII but '\"' and "
            "'\\', at most 200 characters), got \"a\\\"b\"");
  EXPECT_EQ(error_of(oauth_section(jwks.path(), "  isuer: x\n")),
            "postern.yaml:7: unknown key \"oauth.isuer\" (did you mean \"issuer\"?)");
  EXPECT_EQ(error_of(kMinimal + "oauth:\n  issuer: https://id.example/\n  audience: []\n  jwks_file: " +
                     jwks.path() + "\n"),
            "postern.yaml:5: oauth.audience: must not be empty");
}

TEST(ConfigOauth, AMissingOrBrokenKeySetIsAnErrorAtJwksFile) {
  const TempFile broken("{\"keys\": []}");
  EXPECT_EQ(error_of(oauth_section(broken.path())),
            "postern.yaml:6: oauth.jwks_file: " + broken.path() +
                ": no RS256 or ES256 signing key (kty RSA, or EC with crv P-256)");
  const std::string missing = broken.path() + ".missing";
  EXPECT_EQ(error_of(oauth_section(missing)),
            "postern.yaml:6: oauth.jwks_file: " + missing + ": cannot read: No such file or directory");
}

}  // namespace
}  // namespace postern::config
