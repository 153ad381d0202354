// Display names and comments that would show a reader another address than the real one.
#include "server/filters/display_name.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::filters {
namespace {

using schema::SenderPolicy;
using schema::UserGrants;

const UserGrants kGrants{.addresses = {"alice@example.com"}, .domains = {"team.example"}};
const SenderPolicy kPolicy{.local_part_case_sensitive = false, .subaddress_delimiter = "+"};

bool looks_like_address(const std::string& text) {
  return display_name_looks_like_address(text, kGrants, kPolicy);
}

TEST(FiltersDisplayName, OrdinaryNamesPass) {
  const std::vector<std::string> names{
      "", "Alice", "Alice Smith", "Smith, Alice", "John Q. Public", "Dr. A. Smith (Sales)",
      "Alice @ Home", "alice@localhost", "O'Brien", "50% off!", "\"quoted\"",
      "J\xc3\xb6rg M\xc3\xbcller",                      // raw UTF-8 (RFC 6532)
      "=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?=",              // Jörg Müller
      "=?UTF-8?B?5bGx55Sw5aSq6YOO?=",                  // 山田太郎
      "=?ISO-8859-1?Q?J=F6rg_M=FCller?=",
      "=?ISO-2022-JP?B?GyRCOzNFREJATzobKEI=?=",        // 山田太郎: "@" among its JIS bytes
      "=?ISO-2022-JP?B?GyRCQ2ZCPBsoQg==?=",            // 中村: "<"
      "=?ISO-2022-JP?B?GyRCPi5AbhsoQg==?=",            // 小川: ">", ".", "@"
      "=?UTF-8?Q?=D7=A9=D7=9C=D7=95=D7=9D?=",          // שלום, right to left, no at-sign
  };
  for (const auto& name : names) EXPECT_FALSE(looks_like_address(name)) << name;
}

TEST(FiltersDisplayName, AddressLikeNamesAreCaught) {
  const std::vector<std::string> names{
      "ceo@victim.example",
      "CEO <ceo@victim.example>",
      "\" <ceo@victim.example>",
      "ceo @ victim . example",
      "Alice <3",
      "a > b",
      "support@victim.example via Alice",
      "=?UTF-8?B?Y2VvQHZpY3RpbS5leGFtcGxl?=",          // ceo@victim.example
      "=?UTF-8?Q?ceo=40victim=2Eexample?=",
      "=?utf-8?q?=3Cceo?=",
      "=?ISO-8859-1?Q?ceo=40victim.example?=",
      "=?UTF-8?Q?ceo?= =?UTF-8?Q?=40victim.example?=",
      "ceo=?UTF-8?Q?=40?=victim.example",
      "=?UTF-8?B?Y2Vv77ygdmljdGlt77yOZXhhbXBsZQ==?=",  // ceo＠victim．example
      "ceo\xef\xbc\xa0victim.example",                 // full-width at-sign
      "ceo\xef\xb9\xabvictim.example",                 // small at-sign
      "ceo@victim\xe3\x80\x82" "example",              // ideographic full stop
      "ceo@victim\xef\xbc\x8e" "example",              // full-width full stop
      "\xef\xbc\x9c" "ceo",                            // full-width "<"
      "\xef\xb9\xa5",                                  // small ">"
      "=?ISO-2022-JP?B?Y2VvGyRCIXcbKEJ2aWN0aW0bJEIhJRsoQmV4YW1wbGU=?=",  // full-width, JIS
      "=?Shift_JIS?B?Y2VvgZd2aWN0aW2BRGV4YW1wbGU=?=",  // the same in Shift_JIS
      "\xe2\x80\xae" "elpmaxe.mitciv@oec",             // RLO: shows as ceo@victim.example
      "=?x-unknown?Q?ceo=40victim.example?=",
  };
  for (const auto& name : names) EXPECT_TRUE(looks_like_address(name)) << name;
}

TEST(FiltersDisplayName, AddressesTheUserMaySendAsPass) {
  EXPECT_FALSE(looks_like_address("alice@example.com"));
  EXPECT_FALSE(looks_like_address("ALICE@Example.COM"));
  EXPECT_FALSE(looks_like_address("alice+news@example.com"));
  EXPECT_FALSE(looks_like_address("Alice <alice@example.com>"));
  EXPECT_FALSE(looks_like_address("Alice (alice@example.com), Sales"));
  EXPECT_FALSE(looks_like_address("anyone@team.example"));
  EXPECT_FALSE(looks_like_address("=?UTF-8?Q?alice=40example.com?="));
  // ...but nothing else beside them.
  EXPECT_TRUE(looks_like_address("alice@example.com <ceo@victim.example>"));
  EXPECT_TRUE(looks_like_address("ceo@victim.example <alice@example.com>"));
  EXPECT_TRUE(looks_like_address("alice@example.com.victim.example"));
  EXPECT_TRUE(looks_like_address("alice@example.com@victim.example"));
  EXPECT_TRUE(looks_like_address("ceo@victim<alice@example.com>.example"));
  EXPECT_TRUE(looks_like_address("alice@example.com\xe2\x80\xae"));
  EXPECT_TRUE(display_name_looks_like_address("alice@example.com", UserGrants{}, kPolicy));
}

}  // namespace
}  // namespace postern::filters
