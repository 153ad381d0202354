// Argon2id hashing and legacy MD5 verification.
#include "postern/schema/errors.hpp"
#include "postern/schema/password.hpp"

#include <gtest/gtest.h>

using namespace postern::schema;

namespace {
const Argon2Params kFast{1024, 1};  // unit tests need not pay the production cost
}

TEST(Password, HashIsArgon2idPhcString) {
  auto hash = hash_password("secret", kFast);
  EXPECT_TRUE(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$")) << hash;
}

TEST(Password, DefaultsAreNoWeakerThanOwasp) {
  Argon2Params defaults;
  EXPECT_GE(defaults.memory_kib, 19u * 1024u);
  EXPECT_GE(defaults.iterations, 2u);
  EXPECT_TRUE(hash_password("secret").starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
}

TEST(Password, SaltMakesEveryHashDifferent) {
  EXPECT_NE(hash_password("secret", kFast), hash_password("secret", kFast));
}

TEST(Password, VerifiesRightAndWrongPassword) {
  auto hash = hash_password("secret", kFast);
  EXPECT_EQ(verify_password("secret", hash, kFast), PasswordCheck::Match);
  EXPECT_EQ(verify_password("Secret", hash, kFast), PasswordCheck::Mismatch);
  EXPECT_EQ(verify_password("", hash, kFast), PasswordCheck::Mismatch);
}

TEST(Password, WeakerParametersAskForRehash) {
  auto hash = hash_password("secret", kFast);
  EXPECT_EQ(verify_password("secret", hash, Argon2Params{2048, 2}), PasswordCheck::MatchNeedsRehash);
}

TEST(Password, LegacyMd5VerifiesOnlyToBeReplaced) {
  const std::string demo = "$legacy-md5$fe01ce2a7fbac8fafaed7c982a04e229";  // md5("demo")
  EXPECT_TRUE(is_legacy_hash(demo));
  EXPECT_EQ(verify_password("demo", demo), PasswordCheck::MatchNeedsRehash);
  EXPECT_EQ(verify_password("demo2", demo), PasswordCheck::Mismatch);
  EXPECT_EQ(verify_password("demo", "$legacy-md5$short"), PasswordCheck::Mismatch);
}

TEST(Password, UnknownOrGarbageStoredValueNeverMatches) {
  EXPECT_EQ(verify_password("demo", "fe01ce2a7fbac8fafaed7c982a04e229"), PasswordCheck::Mismatch);
  EXPECT_EQ(verify_password("demo", ""), PasswordCheck::Mismatch);
  EXPECT_EQ(verify_password("demo", "$argon2id$garbage"), PasswordCheck::Mismatch);
  EXPECT_EQ(verify_password("demo", "$argon2id$" + std::string(500, 'a')), PasswordCheck::Mismatch);
}

TEST(Password, EmptyPasswordIsRefused) {
  EXPECT_THROW(hash_password("", kFast), InvalidInput);
}
