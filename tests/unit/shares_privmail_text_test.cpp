// The text machinery of the `privmail` format: PrivMail's SixBit code against its defining
// table, the text transformations Python's str methods make (white space, search words,
// buckets), and the decoders the shape check reads a message with (encoded-words, quoted-
// printable, the header section). Expected values come from PrivMail's definitions and from what
// Python 3.11's email package and binascii return for the same input.
#include "shares/encoded_words.hpp"
#include "shares/mail_header_section.hpp"
#include "shares/privmail_sixbit.hpp"
#include "shares/privmail_text.hpp"
#include "shares/quoted_printable.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace {

using namespace postern::shares;

// The SixBit encoding table as PrivMail defines it: row r holds the codes 16r .. 16r+15.
constexpr std::array<std::array<int, 16>, 8> kSixBitTable = {{
    {42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42},
    {42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42},
    {32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47},
    {48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31},
    {42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 42, 42, 42, 42, 42},
}};

TEST(PrivmailSixBit, EncodesEveryAsciiCodeAsTheDefiningTableSays) {
  for (int code = 0; code < 128; ++code) {
    EXPECT_EQ(sixbit_encode(static_cast<char>(code)), kSixBitTable[code / 16][code % 16]) << "code " << code;
  }
  EXPECT_EQ(sixbit_encode('\x80'), 42);  // beyond ASCII, never shared, but defined
  EXPECT_EQ(sixbit_encode('\xFF'), 42);
}

TEST(PrivmailSixBit, DecodesToUpperCaseAndPunctuation) {
  for (int value = 0; value < 64; ++value) {
    EXPECT_EQ(sixbit_decode(static_cast<std::uint8_t>(value)), value < 32 ? value + 64 : value) << value;
  }
  EXPECT_EQ(sixbit_decode(42), '*');
  EXPECT_EQ(sixbit_decode(sixbit_encode('q')), 'Q');
  EXPECT_EQ(sixbit_decode(sixbit_encode('\t')), '*');
  for (int code = 32; code < 96; ++code) {
    EXPECT_EQ(sixbit_decode(sixbit_encode(static_cast<char>(code))), code);  // the code's own range
  }
}

TEST(PrivmailText, CollapsesWhiteSpaceAsPythonSplitDoes) {
  EXPECT_EQ(collapse_whitespace("  two\r\n\twords \x0b\x0c and\x1cmore\x1fhere "), "two words and more here");
  EXPECT_EQ(collapse_whitespace(""), "");
  EXPECT_EQ(collapse_whitespace(" \r\n "), "");
  EXPECT_EQ(collapse_whitespace("a\x1b" "b"), "a\x1b" "b");  // ESC is no white space
  for (char c = 0; c >= 0; ++c) {
    const bool python_space = c == ' ' || (c >= 9 && c <= 13) || (c >= 28 && c <= 31);
    EXPECT_EQ(is_python_space(c), python_space) << int(c);
  }
}

TEST(PrivmailText, SearchWordsFollowPrivMailsPipeline) {
  // Expected as Python makes them from the same text.
  const std::string text = "Hello. Hello, World!  what? yes: no; end.\r\n\tNew\x0bline\x1cSep.. x ,, y! !";
  EXPECT_EQ(privmail_search_words(text), (std::vector<std::string>{"hello", "world", "what", "yes", "no", "end", "new",
                                                                   "line", "sep.", "x", ",", "y", "!"}));
  EXPECT_TRUE(privmail_search_words(" \r\n").empty());
  EXPECT_EQ(privmail_search_words("end."), std::vector<std::string>{"end."});  // no space after: kept
}

TEST(PrivmailText, BucketWordsArePaddedToTheFirstSizeThatHoldsThem) {
  EXPECT_EQ(bucket_word("a"), "a****");
  EXPECT_EQ(bucket_word("hello"), "hello");
  EXPECT_EQ(bucket_word("hellos"), "hellos****");
  EXPECT_EQ(bucket_word(std::string(15, 'x')), std::string(15, 'x'));
  EXPECT_EQ(bucket_word(std::string(16, 'x')), std::string(16, 'x') + "****");
  EXPECT_EQ(bucket_word(std::string(20, 'x')), std::string(20, 'x'));
  EXPECT_EQ(bucket_word(std::string(21, 'x')), std::nullopt);
}

TEST(PrivmailEncodedWords, DecodesAsPythonsEmailPackageReadsASubject) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"=?utf-8?q?a_b?=", "a b"},
      {"=?utf-8?q?a?=  \t =?utf-8?q?b?=", "ab"},         // white space between words dropped
      {"=?utf-8?q?a?= b =?utf-8?q?c?=", "a b c"},        // but not around other text
      {"abc=?utf-8?q?x?=", "abcx"},                       // Python decodes inside words too
      {"(=?utf-8?q?a?=)", "(a)"},
      {"=?utf-8?q?unterminated", "=?utf-8?q?unterminated"},
      {"=?utf-8?x?abc?=", "=?utf-8?x?abc?="},             // not an encoding: left alone
      {"=?UTF-8?Q?A=3Fb?=", "A?b"},
      {"=?utf-8?q?a?==?utf-8?q?b?=", "ab"},
      {"=?utf-8?b?YWJj?=", "abc"},
      {"=?utf-8?B?YWJ?=", "ab"},                          // missing padding tolerated
      {"=?iso-8859-1?q?caf=E9?=", "caf\xE9"},
      {"=?utf-8*en?q?lang?=", "lang"},
      {"plain text", "plain text"},
  };
  for (const auto& [input, expected] : cases) {
    const DecodedWords decoded = decode_encoded_words(input);
    EXPECT_EQ(decoded.bytes, expected) << input;
    EXPECT_EQ(decoded.error, "") << input;
  }
  const DecodedWords charsets = decode_encoded_words("=?UTF-8?q?a?= =?ISO-8859-1*de?b?YQ==?=");
  EXPECT_EQ(charsets.charsets, (std::vector<std::string>{"utf-8", "iso-8859-1"}));
  EXPECT_EQ(decode_encoded_words("=?utf-8?b?invalid!?=").error, "an encoded-word's text is not valid base64");
}

TEST(PrivmailQuotedPrintable, DecodesAsPythonsBinasciiDoes) {
  // binascii.a2b_qp's results for the same input.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"caf=C3=A9 =\r\nau lait\r\n", "caf\xC3\xA9 au lait\r\n"},
      {"a=\r\nb", "ab"},
      {"a= \r\nb", "a= \r\nb"},
      {"a==b", "a=b"},
      {"a=4", "a=4"},
      {"a=", "a"},
      {"a=zz", "a=zz"},
      {"a=\rb", "a"},
      {"a=\rb\nc", "ac"},
      {"x=4a=4A", "xJJ"},
      {"line one\r\nline two\r\n", "line one\r\nline two\r\n"},
  };
  for (const auto& [input, expected] : cases) EXPECT_EQ(decode_quoted_printable(input), expected) << input;
}

TEST(SharesMailHeaderSection, KeepsRawFieldsAndCountsLinesThatAreNoField) {
  const std::string mail = "From sender Tue Jan  2 10:00:00 2024\r\nSubject:  a\r\n\tb  \r\nX-A: 1\n\r\nbody";
  const HeaderSection head = read_header_section(mail);
  ASSERT_EQ(head.fields.size(), 2u);
  EXPECT_EQ(head.fields[0].name, "subject");
  EXPECT_EQ(head.fields[0].value, "a\tb");
  EXPECT_EQ(head.fields[0].raw, "  a\r\n\tb  \r\n");
  EXPECT_EQ(head.fields[1].value, "1");
  EXPECT_EQ(head.skipped_lines, 1u);
  EXPECT_EQ(mail.substr(head.body_start), "body");
  EXPECT_EQ(content_type_parameter("text/plain; Charset=\"utf-8\"", "charset"), "utf-8");
  EXPECT_EQ(media_type(" Text/Plain ; charset=x"), "text/plain");
}

}  // namespace
