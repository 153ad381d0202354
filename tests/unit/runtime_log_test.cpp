// What a log line shows of a value: plain text as it is, anything else quoted and escaped, and
// never more than a bounded number of octets, whoever the caller.
#include "server/runtime/log.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern::log {
namespace {

using namespace std::string_literals;

TEST(RuntimeLog, PlainValuesAppearAsTheyAre) {
  EXPECT_EQ(format_value("alice"), "alice");
  EXPECT_EQ(format_value("alice@example.com"), "alice@example.com");
  EXPECT_EQ(format_value("b\xc3\xbc" "cher"), "b\xc3\xbc" "cher");  // UTF-8 stays readable
}

TEST(RuntimeLog, SpacesQuotesAndEmptyValuesAreQuoted) {
  EXPECT_EQ(format_value(""), R"("")");
  EXPECT_EQ(format_value("a b"), R"("a b")");
  EXPECT_EQ(format_value("k=v"), R"("k=v")");
  EXPECT_EQ(format_value(R"(say "hi" \o/)"), R"("say \"hi\" \\o/")");
}

TEST(RuntimeLog, C0ControlsAndDelAreEscaped) {
  EXPECT_EQ(format_value("a\r\nevent=forged"), R"("a\x0d\x0aevent=forged")");
  EXPECT_EQ(format_value("\x1b[31mred"), R"("\x1b[31mred")");
  EXPECT_EQ(format_value("tab\there\x7f"), R"("tab\x09here\x7f")");
  EXPECT_EQ(format_value("nul\0byte"s), R"("nul\x00byte")");
}

TEST(RuntimeLog, C1ControlsAreEscapedAsUtf8AndAsRawBytes) {
  // U+009B (CSI) and U+0085 (NEL) encoded in UTF-8.
  EXPECT_EQ(format_value("x\xc2\x9b" "2J"), R"("x\xc2\x9b2J")");
  EXPECT_EQ(format_value("line\xc2\x85next"), R"("line\xc2\x85next")");
  EXPECT_EQ(format_value("\xc2\x80\xc2\x9f"), R"("\xc2\x80\xc2\x9f")");
  // Raw 0x80-0x9F bytes that are not UTF-8, and other stray bytes.
  EXPECT_EQ(format_value("x\x9b" "2J"), R"("x\x9b2J")");
  EXPECT_EQ(format_value("\x85\x80"), R"("\x85\x80")");
  EXPECT_EQ(format_value("caf\xe9"), R"("caf\xe9")");
  // U+00A0 and beyond are ordinary characters.
  EXPECT_EQ(format_value("\xc2\xa0" "x"), "\xc2\xa0" "x");
}

TEST(RuntimeLog, LineSeparatorsAndBidiOverridesAreEscaped) {
  EXPECT_EQ(format_value("a\xe2\x80\xa8" "b"), R"("a\xe2\x80\xa8b")");
  EXPECT_EQ(format_value("\xe2\x80\xae" "gpj.exe"), R"("\xe2\x80\xaegpj.exe")");
  EXPECT_EQ(format_value("\xe2\x81\xa6" "x"), R"("\xe2\x81\xa6x")");
}

TEST(RuntimeLog, LongValuesAreCutWithAMarker) {
  const std::string user(20000, 'a');
  EXPECT_EQ(format_value(user), "\"" + std::string(kMaxValueBytes, 'a') + "...[+" +
                                    std::to_string(20000 - kMaxValueBytes) + " bytes]\"");
  EXPECT_EQ(format_value(std::string(kMaxValueBytes, 'a')), std::string(kMaxValueBytes, 'a'));
  EXPECT_EQ(format_value("abcdef", 3), R"("abc...[+3 bytes]")");
  EXPECT_EQ(format_value("abcdef", kWholeValue), "abcdef");
}

TEST(RuntimeLog, CutNeverSplitsAUtf8Character) {
  // "\xc3\xbc" is one character: a cut after 3 octets keeps "a" and it whole.
  EXPECT_EQ(format_value("a\xc3\xbc\xc3\xbc", 2), "\"a...[+4 bytes]\"");
  EXPECT_EQ(format_value("a\xc3\xbc\xc3\xbc", 3), "\"a\xc3\xbc...[+2 bytes]\"");
  EXPECT_EQ(format_value("\xe2\x82\xac\xe2\x82\xac", 4), "\"\xe2\x82\xac...[+3 bytes]\"");
}

TEST(RuntimeLog, EscapedLongValueStaysBounded) {
  // Every octet escaped: at most four times the bound, however long the value.
  const std::string hostile(100000, '\x1b');
  EXPECT_LE(format_value(hostile).size(), 4 * kMaxValueBytes + 32);
}

}  // namespace
}  // namespace postern::log
