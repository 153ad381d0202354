#include "server/filters/header_block.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace postern::filters {
namespace {

TEST(FiltersHeaderBlock, SplitsFieldsWithOffsets) {
  const std::string_view message =
      "From: a@example.com\r\n"
      "Subject: one\r\n"
      "\ttwo\r\n"
      "To : b@example.org\r\n"
      "\r\n"
      "Body: not a header\r\n";
  const auto block = parse_header_block(message);
  ASSERT_EQ(block.fields.size(), 3u);
  EXPECT_EQ(block.fields[0].name, "From");
  EXPECT_EQ(block.fields[0].value, " a@example.com");
  EXPECT_EQ(block.fields[0].begin, 0u);
  EXPECT_EQ(block.fields[0].end, 21u);
  EXPECT_EQ(block.fields[1].name, "Subject");
  EXPECT_EQ(block.fields[1].value, " one\r\n\ttwo");
  EXPECT_EQ(message.substr(block.fields[1].begin, block.fields[1].end - block.fields[1].begin),
            "Subject: one\r\n\ttwo\r\n");
  EXPECT_EQ(block.fields[2].name, "To");  // RFC 5322 §4.5: WSP before the colon
  EXPECT_EQ(block.fields[2].value, " b@example.org");
  EXPECT_EQ(block.header_end, block.fields[2].end);
  EXPECT_EQ(message.substr(block.header_end, 2), "\r\n");
  EXPECT_EQ(message.substr(block.body_begin), "Body: not a header\r\n");
}

TEST(FiltersHeaderBlock, WithoutEmptyLineAllIsHeader) {
  for (const std::string_view message : {"A: 1\r\nB: 2\r\n", "A: 1\r\nB: 2"}) {
    const auto block = parse_header_block(message);
    ASSERT_EQ(block.fields.size(), 2u);
    EXPECT_EQ(block.fields[1].value, " 2");
    EXPECT_EQ(block.fields[1].end, message.size());
    EXPECT_EQ(block.header_end, message.size());
    EXPECT_EQ(block.body_begin, message.size());
  }
}

TEST(FiltersHeaderBlock, EmptyHeaderSection) {
  auto block = parse_header_block("\r\nFrom: in the body\r\n");
  EXPECT_TRUE(block.fields.empty());
  EXPECT_EQ(block.header_end, 0u);
  EXPECT_EQ(block.body_begin, 2u);
  block = parse_header_block("");
  EXPECT_TRUE(block.fields.empty());
  EXPECT_EQ(block.header_end, 0u);
  EXPECT_EQ(block.body_begin, 0u);
}

TEST(FiltersHeaderBlock, LinesThatAreNotFieldsHaveNoName) {
  const std::string_view message =
      " leading continuation\r\n"
      "no colon here\r\n"
      "Bad Name: x\r\n"
      ": empty name\r\n"
      "X-Ok:\r\n"
      "   \r\n"
      "\r\n";
  const auto block = parse_header_block(message);
  ASSERT_EQ(block.fields.size(), 5u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(block.fields[i].name, "") << i;
  EXPECT_EQ(block.fields[1].value, "no colon here");
  EXPECT_EQ(block.fields[4].name, "X-Ok");
  EXPECT_EQ(block.fields[4].value, "\r\n   ");  // a whitespace-only line continues (§4.2)
  EXPECT_EQ(block.body_begin, message.size());
}

TEST(FiltersHeaderBlock, NamesCompareCaseInsensitively) {
  const auto block = parse_header_block("message-ID: <1@x>\r\nMESSAGE-id: <2@x>\r\nDate: d\r\n");
  EXPECT_EQ(count_fields(block, "Message-ID"), 2u);
  EXPECT_EQ(count_fields(block, "date"), 1u);
  EXPECT_EQ(count_fields(block, "Message"), 0u);
  EXPECT_TRUE(is_field(block.fields[0], "MESSAGE-ID"));
  EXPECT_FALSE(is_field(block.fields[2], "Dat"));
}

TEST(FiltersHeaderBlock, Unfolds) {
  EXPECT_EQ(unfold(" Alice\r\n <a@example.com>"), " Alice <a@example.com>");
  EXPECT_EQ(unfold(" a\r\n\t\tb\r\n c"), " a\t\tb c");
  EXPECT_EQ(unfold("plain"), "plain");
  EXPECT_EQ(unfold("x\r\n"), "x\r\n");  // a CRLF not followed by whitespace is no fold
}

}  // namespace
}  // namespace postern::filters
