// RFC 2047 encoded-words decoded as a mail reader shows them.
#include "server/filters/encoded_words.hpp"

#include <gtest/gtest.h>

namespace postern::filters {
namespace {

TEST(FiltersEncodedWords, TextWithoutEncodedWordsIsUnchanged) {
  EXPECT_EQ(decode_encoded_words(""), "");
  EXPECT_EQ(decode_encoded_words("Alice Smith"), "Alice Smith");
  EXPECT_EQ(decode_encoded_words("J\xc3\xb6rg"), "J\xc3\xb6rg");
  // Not well-formed: left as written.
  for (const char* text : {"=?", "=?UTF-8?", "=?UTF-8?B?", "=?UTF-8?X?abc?=", "=??B?abc?=",
                           "=?UTF-8?B?abc", "=?UTF 8?B?abc?=", "a=?b?=c", "=?UTF-8?Q?a?x"}) {
    EXPECT_EQ(decode_encoded_words(text), text) << text;
  }
}

TEST(FiltersEncodedWords, BAndQInUtf8) {
  EXPECT_EQ(decode_encoded_words("=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?="), "J\xc3\xb6rg M\xc3\xbcller");
  EXPECT_EQ(decode_encoded_words("=?utf-8?b?SsO2cmcgTcO8bGxlcg?="), "J\xc3\xb6rg M\xc3\xbcller");
  EXPECT_EQ(decode_encoded_words("=?UTF-8?Q?M=C3=BCller=2C_Hans?="), "M\xc3\xbcller, Hans");
  EXPECT_EQ(decode_encoded_words("=?utf-8?q?a=3Cb=3e_=?="), "a<b> =");
  EXPECT_EQ(decode_encoded_words("=?UTF-8*en?Q?Hi?="), "Hi");  // RFC 2231 language
}

TEST(FiltersEncodedWords, Latin1) {
  EXPECT_EQ(decode_encoded_words("=?ISO-8859-1?Q?J=F6rg?="), "J\xc3\xb6rg");
  EXPECT_EQ(decode_encoded_words("=?iso-8859-1?B?SvZyZw==?="), "J\xc3\xb6rg");
  EXPECT_EQ(decode_encoded_words("=?latin1?Q?=A9?="), "\xc2\xa9");
}

TEST(FiltersEncodedWords, OtherCharsetsThroughIconv) {
  // 山田太郎 in ISO-2022-JP: its JIS bytes hold "@", which is no at-sign.
  EXPECT_EQ(decode_encoded_words("=?ISO-2022-JP?B?GyRCOzNFREJATzobKEI=?="),
            "\xe5\xb1\xb1\xe7\x94\xb0\xe5\xa4\xaa\xe9\x83\x8e");
  // 表示 in Shift_JIS, whose second byte is "\".
  EXPECT_EQ(decode_encoded_words("=?Shift_JIS?B?lVyOpg==?="), "\xe8\xa1\xa8\xe7\xa4\xba");
  EXPECT_EQ(decode_encoded_words("=?windows-1252?Q?=80?="), "\xe2\x82\xac");
  EXPECT_EQ(decode_encoded_words("=?ISO-8859-2?Q?=A9?="), "\xc5\xa0");
  EXPECT_EQ(decode_encoded_words("=?KOI8-R?Q?=E1?="), "\xd0\x90");
}

TEST(FiltersEncodedWords, InvalidSequencesBecomeReplacementCharacters) {
  EXPECT_EQ(decode_encoded_words("=?Shift_JIS?Q?a=FFb?="), "a\xef\xbf\xbd" "b");
  EXPECT_EQ(decode_encoded_words("=?Shift_JIS?Q?a=81?="), "a\xef\xbf\xbd");  // truncated
}

TEST(FiltersEncodedWords, UnknownCharsetsAreReadAsAscii) {
  EXPECT_EQ(decode_encoded_words("=?x-unknown?Q?ceo=40victim.example?="), "ceo@victim.example");
  EXPECT_EQ(decode_encoded_words("=?../../etc/x?Q?a?="), "=?../../etc/x?Q?a?=");  // not a token
}

TEST(FiltersEncodedWords, WhitespaceBetweenAdjacentWordsIsDropped) {
  EXPECT_EQ(decode_encoded_words("=?UTF-8?Q?ceo?= =?UTF-8?Q?=40victim?=\t =?UTF-8?Q?.example?="),
            "ceo@victim.example");
  EXPECT_EQ(decode_encoded_words("=?UTF-8?Q?a?= b =?UTF-8?Q?c?="), "a b c");
  EXPECT_EQ(decode_encoded_words("x =?UTF-8?Q?a?= =?ISO-8859-1?Q?=E9?= y"), "x a\xc3\xa9 y");
}

TEST(FiltersEncodedWords, CharacterSplitBetweenWordsComesOutWhole) {
  // "＠" (EF BC A0) in two B words, as a client that cuts by octets writes it.
  EXPECT_EQ(decode_encoded_words("=?UTF-8?Q?=EF=BC?= =?UTF-8?Q?=A0?="), "\xef\xbc\xa0");
  EXPECT_EQ(decode_encoded_words("=?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= =?ISO-2022-JP?B?GyRCQkBPOhsoQg==?="),
            "\xe5\xb1\xb1\xe7\x94\xb0\xe5\xa4\xaa\xe9\x83\x8e");
}

TEST(FiltersEncodedWords, EncodedWordsAnywhereAreDecoded) {
  // Inside a quoted string's text and glued to other text, as readers decode them.
  EXPECT_EQ(decode_encoded_words("ceo=?UTF-8?Q?=40?=victim.example"), "ceo@victim.example");
}

}  // namespace
}  // namespace postern::filters
