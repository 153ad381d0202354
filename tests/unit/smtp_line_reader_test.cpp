// Command lines: CRLF only, a length limit, and overlong lines skipped without buffering.
#include "server/smtp/line_reader.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using smtp::LineRead;
using smtp::LineReader;
using Kind = LineRead::Kind;
using namespace std::string_literals;

TEST(SmtpLineReader, CompleteLineWithoutItsCrLf) {
  LineReader reader;
  const LineRead read = reader.read("NOOP\r\nQUIT\r\n", 1000);
  EXPECT_EQ(read.kind, Kind::Line);
  EXPECT_EQ(read.text, "NOOP");
  EXPECT_EQ(read.consumed, 6u);
}

TEST(SmtpLineReader, IncompleteLineNeedsMoreAndConsumesNothing) {
  LineReader reader;
  EXPECT_EQ(reader.read("NOOP\r", 1000).kind, Kind::NeedMore);
  EXPECT_EQ(reader.read("NOOP\r", 1000).consumed, 0u);
  EXPECT_EQ(reader.read("", 1000).kind, Kind::NeedMore);
}

TEST(SmtpLineReader, LimitCountsTheCrLf) {
  LineReader reader;
  EXPECT_EQ(reader.read(std::string(8, 'x') + "\r\n", 10).kind, Kind::Line);
  EXPECT_EQ(reader.read(std::string(9, 'x') + "\r\n", 10).kind, Kind::TooLong);
}

TEST(SmtpLineReader, TooLongIsReportedBeforeTheLineEnds) {
  LineReader reader;
  const LineRead read = reader.read(std::string(10, 'x'), 10);
  EXPECT_EQ(read.kind, Kind::TooLong);
  EXPECT_EQ(read.consumed, 10u);
}

TEST(SmtpLineReader, RestOfTooLongLineIsSkippedUpToItsLf) {
  LineReader reader;
  reader.read(std::string(10, 'x'), 10);
  const LineRead more = reader.read(std::string(50, 'x'), 10);
  EXPECT_EQ(more.kind, Kind::NeedMore);
  EXPECT_EQ(more.consumed, 50u);
  const LineRead next = reader.read("x\r\nNOOP\r\n", 10);
  EXPECT_EQ(next.kind, Kind::Line);
  EXPECT_EQ(next.text, "NOOP");
  EXPECT_EQ(next.consumed, 9u);
}

TEST(SmtpLineReader, ResetForgetsTheSkip) {
  LineReader reader;
  reader.read(std::string(10, 'x'), 10);
  reader.reset();
  EXPECT_EQ(reader.read("NOOP\r\n", 10).text, "NOOP");
}

TEST(SmtpLineReader, BareLfIsRefusedWholeLine) {
  LineReader reader;
  EXPECT_EQ(reader.read("NOOP\nQUIT\r\n", 1000).kind, Kind::BareCrOrLf);
  EXPECT_EQ(reader.read("NOOP\nQUIT\r\n", 1000).consumed, 5u);
  EXPECT_EQ(reader.read("\n", 1000).kind, Kind::BareCrOrLf);
}

TEST(SmtpLineReader, BareCrIsRefusedWithItsLine) {
  LineReader reader;
  const LineRead read = reader.read("NOOP\rQUIT\r\nRSET\r\n", 1000);
  EXPECT_EQ(read.kind, Kind::BareCrOrLf);
  EXPECT_EQ(read.consumed, 11u);
  EXPECT_EQ(reader.read("\r\r\n", 1000).kind, Kind::BareCrOrLf);
}

TEST(SmtpLineReader, NulIsRefused) {
  LineReader reader;
  const LineRead read = reader.read("NO\0OP\r\n"s, 1000);
  EXPECT_EQ(read.kind, Kind::Nul);
  EXPECT_EQ(read.consumed, 7u);
}

TEST(SmtpLineReader, EmptyLineIsALine) {
  LineReader reader;
  const LineRead read = reader.read("\r\n", 1000);
  EXPECT_EQ(read.kind, Kind::Line);
  EXPECT_EQ(read.text, "");
}

}  // namespace
