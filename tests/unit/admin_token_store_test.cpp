// The admin API's tokens file: NAME:ROLE:sha256:HEX lines, errors naming the line, lookups by the
// token's hash, and which role may do what.
#include "server/admin/token_store.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern::admin {
namespace {

std::string line(const std::string& name, const std::string& role, const std::string& token) {
  return name + ":" + role + ":sha256:" + token_digest_hex(token) + "\n";
}

std::string error_of(const std::string& text) {
  try {
    TokenStore::parse(text, "tokens");
  } catch (const TokenFileError& e) {
    return e.what();
  }
  return "";
}

TEST(AdminTokenStore, FindsEachTokenByItsSecretWithItsNameAndRole) {
  const TokenStore store = TokenStore::parse(
      "# comment\n\n" + line("viewer", "read", "s3cret-r") + line("ops", "operate", "s3cret-o") +
          line("root", "admin", "s3cret-a"),
      "tokens");
  EXPECT_EQ(store.size(), 3u);
  const auto ops = store.find("s3cret-o");
  ASSERT_TRUE(ops.has_value());
  EXPECT_EQ(ops->name, "ops");
  EXPECT_EQ(ops->role, Role::Operate);
  EXPECT_EQ(store.find("s3cret-a")->role, Role::Admin);
  EXPECT_EQ(store.find("s3cret-r")->name, "viewer");
}

TEST(AdminTokenStore, RefusesUnknownEmptyAndNearMissTokens) {
  const TokenStore store = TokenStore::parse(line("root", "admin", "s3cret"), "tokens");
  EXPECT_FALSE(store.find("").has_value());
  EXPECT_FALSE(store.find("s3cre").has_value());
  EXPECT_FALSE(store.find("s3cret ").has_value());
  // The file holds the hash: presenting the hash itself is not the token.
  EXPECT_FALSE(store.find(token_digest_hex("s3cret")).has_value());
}

TEST(AdminTokenStore, AcceptsCrLfLineEndsAndUpperCaseHex) {
  std::string text = line("root", "admin", "t");
  text.pop_back();
  for (auto& c : text) c = c >= 'a' && c <= 'f' ? static_cast<char>(c - 'a' + 'A') : c;
  const TokenStore store = TokenStore::parse("root:admin:sha256:" + text.substr(text.rfind(':') + 1) + "\r\n", "tokens");
  EXPECT_TRUE(store.find("t").has_value());
}

TEST(AdminTokenStore, ErrorsNameTheFileAndLine) {
  EXPECT_EQ(error_of("# tokens\nroot admin t\n"),
            "tokens: line 2: expected NAME:ROLE:sha256:HEX (the SHA-256 of the token, never the token itself)");
  EXPECT_EQ(error_of("root:superuser:sha256:" + token_digest_hex("t")),
            "tokens: line 1: expected the role read, operate or admin");
  EXPECT_EQ(error_of("root:admin:sha256:abcd"), "tokens: line 1: expected 64 hex digits after sha256:");
  EXPECT_EQ(error_of("ro ot:admin:sha256:" + token_digest_hex("t")),
            "tokens: line 1: a token name is 1 to 64 letters, digits, '.', '_' or '-'");
  EXPECT_EQ(error_of(line("a", "read", "x") + line("a", "admin", "y")), "tokens: line 2: token name a given twice");
  EXPECT_EQ(error_of("# nothing\n"), "tokens: no token");
}

TEST(AdminTokenStore, AnErrorNeverShowsTheLine) {
  const std::string message = error_of("root:admin:plain-secret-token\n");
  EXPECT_EQ(message.find("plain-secret-token"), std::string::npos) << message;
}

TEST(AdminTokenStore, RolesAreOrderedReadOperateAdmin) {
  EXPECT_TRUE(role_allows(Role::Read, Role::Read));
  EXPECT_FALSE(role_allows(Role::Read, Role::Operate));
  EXPECT_FALSE(role_allows(Role::Read, Role::Admin));
  EXPECT_TRUE(role_allows(Role::Operate, Role::Read));
  EXPECT_TRUE(role_allows(Role::Operate, Role::Operate));
  EXPECT_FALSE(role_allows(Role::Operate, Role::Admin));
  EXPECT_TRUE(role_allows(Role::Admin, Role::Operate));
  EXPECT_EQ(role_name(Role::Operate), "operate");
}

TEST(AdminTokenStore, DigestIsSha256Hex) {
  EXPECT_EQ(token_digest_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace postern::admin
