// The end-of-data reader: CRLF.CRLF and nothing else ends a message, dot-unstuffing, and
// refusals that still read to the real end.
#include "server/smtp/data_reader.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace {

using smtp::DataReader;
using smtp::kMaxDataLine;
using Verdict = DataReader::Verdict;
using namespace std::string_literals;

constexpr std::size_t kLimit = 1 << 20;

struct Read {
  bool finished = false;
  std::size_t consumed = 0;
  Verdict verdict = Verdict::Ok;
  std::string body;                      // every piece taken, joined
  std::vector<std::size_t> piece_sizes;  // of the non-empty pieces
};

// Feeds `input` in reads of `read_size`, as the protocol does: a full piece is taken before the
// rest of a read is offered again. Stops when the reader finishes.
Read read_all(std::string_view input, std::size_t read_size = std::string::npos, std::size_t limit = kLimit,
              std::size_t piece_size = smtp::kMessagePieceSize) {
  DataReader reader(limit, piece_size);
  Read read;
  const auto take = [&] {
    std::string piece = reader.take_piece();
    if (!piece.empty()) read.piece_sizes.push_back(piece.size());
    read.body += piece;
  };
  while (read.consumed < input.size() && !reader.finished()) {
    const std::string_view offered = input.substr(read.consumed, read_size);
    const std::size_t taken = reader.consume(offered);
    EXPECT_TRUE(reader.finished() || reader.piece_ready() || taken == offered.size());
    read.consumed += taken;
    if (reader.piece_ready()) take();
  }
  read.finished = reader.finished();
  if (read.finished) {
    read.verdict = reader.verdict();
    take();
  }
  return read;
}

TEST(SmtpDataReader, EmptyMessageIsDotCrLf) {
  const Read read = read_all(".\r\n");
  EXPECT_TRUE(read.finished);
  EXPECT_EQ(read.verdict, Verdict::Ok);
  EXPECT_EQ(read.body, "");
  EXPECT_EQ(read.consumed, 3u);
}

TEST(SmtpDataReader, BodyKeepsCrLfAndDropsTheEndLine) {
  const Read read = read_all("Subject: x\r\n\r\nhello\r\n.\r\n");
  EXPECT_EQ(read.verdict, Verdict::Ok);
  EXPECT_EQ(read.body, "Subject: x\r\n\r\nhello\r\n");
}

TEST(SmtpDataReader, EmptyLineBeforeTheEndIsKept) {
  EXPECT_EQ(read_all("\r\n.\r\n").body, "\r\n");
}

TEST(SmtpDataReader, LeadingDotIsRemoved) {
  EXPECT_EQ(read_all("..hidden\r\n.\r\n").body, ".hidden\r\n");
  EXPECT_EQ(read_all("a\r\n..\r\n.\r\n").body, "a\r\n.\r\n");
  EXPECT_EQ(read_all("...\r\n.\r\n").body, "..\r\n");
  EXPECT_EQ(read_all(".x.\r\n.\r\n").body, "x.\r\n");
}

TEST(SmtpDataReader, DotInsideALineIsKept) {
  EXPECT_EQ(read_all("a.b\r\nend.\r\n.\r\n").body, "a.b\r\nend.\r\n");
}

TEST(SmtpDataReader, StopsRightAfterTheEndLine) {
  const std::string input = "hello\r\n.\r\nQUIT\r\n";
  const Read read = read_all(input);
  EXPECT_TRUE(read.finished);
  EXPECT_EQ(read.consumed, input.size() - 6);
}

TEST(SmtpDataReader, UnfinishedMessageTakesEverything) {
  DataReader reader(kLimit);
  EXPECT_EQ(reader.consume("hello\r\n."), 8u);
  EXPECT_FALSE(reader.finished());
  EXPECT_EQ(reader.consume("\r"), 1u);
  EXPECT_FALSE(reader.finished());
  EXPECT_EQ(reader.consume("\nNOOP"), 1u);
  EXPECT_TRUE(reader.finished());
}

TEST(SmtpDataReader, FinishedReaderTakesNothingMore) {
  DataReader reader(kLimit);
  reader.consume(".\r\n");
  EXPECT_EQ(reader.consume("more"), 0u);
}

class SmtpDataReaderSmuggling : public testing::TestWithParam<std::string> {};

// None of these is an end of data; each makes the message bad; the real end still ends it.
TEST_P(SmtpDataReaderSmuggling, FakeEndIsNotAnEndAndMakesTheMessageBad) {
  const std::string input = "hello" + GetParam() + "MAIL FROM:<x@example.org>\r\n.\r\n";
  const Read read = read_all(input);
  EXPECT_TRUE(read.finished);
  EXPECT_EQ(read.consumed, input.size());
  EXPECT_EQ(read.verdict, Verdict::BadLineEnding);
}

INSTANTIATE_TEST_SUITE_P(SmtpVariants, SmtpDataReaderSmuggling,
                         testing::Values("\n.\n"s, "\n.\r\n"s, "\r.\r"s, "\r\n.\n"s, "\r\n.\r"s, "\r.\r\n"s,
                                         "\n.\r"s, "\r\n.\rx"s, "\n"s, "\r"s, "\r\r\n"s, "\0"s,
                                         "\r\n.\0\r\n"s, "\r\n\0.\r\n"s));

TEST(SmtpDataReader, BareLfRightAfterTheStartIsBadAndStartsNoLine) {
  EXPECT_FALSE(read_all("\n.\r\n").finished);
  EXPECT_EQ(read_all("\n.\r\n.\r\n").verdict, Verdict::BadLineEnding);
  EXPECT_EQ(read_all(".\n.\r\n.\r\n").verdict, Verdict::BadLineEnding);
}

TEST(SmtpDataReader, DotCrThenNotLfIsBadAndNotAnEnd) {
  const Read read = read_all(".\r.\r\n.\r\n");
  EXPECT_TRUE(read.finished);
  EXPECT_EQ(read.consumed, 8u);
  EXPECT_EQ(read.verdict, Verdict::BadLineEnding);
}

TEST(SmtpDataReader, LineOf1000OctetsIsAccepted) {
  const Read read = read_all(std::string(kMaxDataLine - 2, 'x') + "\r\n.\r\n");
  EXPECT_EQ(read.verdict, Verdict::Ok);
  EXPECT_EQ(read.body.size(), kMaxDataLine);
}

// RFC 5321 §4.5.3.1.6 limits the line of text; the dot added for transparency is not part of it.
TEST(SmtpDataReader, StuffedDotDoesNotCountTowardsTheLineLength) {
  const std::string text = "." + std::string(kMaxDataLine - 3, 'x');  // 998 octets of text
  const Read read = read_all("." + text + "\r\n.\r\n");               // 999 before CRLF on the wire
  EXPECT_EQ(read.verdict, Verdict::Ok);
  EXPECT_EQ(read.body, text + "\r\n");
  EXPECT_EQ(read_all("." + text + "x\r\n.\r\n").verdict, Verdict::LineTooLong);
}

TEST(SmtpDataReader, LineOf1001OctetsIsTooLongButReadToTheEnd) {
  const std::string input = "ok\r\n" + std::string(kMaxDataLine - 1, 'x') + "\r\nok\r\n.\r\n";
  const Read read = read_all(input);
  EXPECT_TRUE(read.finished);
  EXPECT_EQ(read.consumed, input.size());
  EXPECT_EQ(read.verdict, Verdict::LineTooLong);
}

TEST(SmtpDataReader, MessageOfExactlyTheLimitIsAccepted) {
  const Read read = read_all("12345678\r\n.\r\n", std::string::npos, 10);
  EXPECT_EQ(read.verdict, Verdict::Ok);
  EXPECT_EQ(read.body, "12345678\r\n");
}

TEST(SmtpDataReader, MessageOverTheLimitIsTooLargeButReadToTheEnd) {
  const std::string input = "123456789\r\nmore\r\n.\r\nNOOP\r\n";
  const Read read = read_all(input, std::string::npos, 10);
  EXPECT_TRUE(read.finished);
  EXPECT_EQ(read.consumed, input.size() - 6);
  EXPECT_EQ(read.verdict, Verdict::TooLarge);
}

TEST(SmtpDataReader, StuffedDotsDoNotCountTowardsTheSize) {
  EXPECT_EQ(read_all("..\r\n.\r\n", std::string::npos, 3).verdict, Verdict::Ok);
}

TEST(SmtpDataReader, HugeMessageKeepsMemoryBounded) {
  DataReader reader(1000);
  const std::string line = std::string(998, 'x') + "\r\n";
  for (int i = 0; i < 10000; ++i) reader.consume(line);
  reader.consume(".\r\n");
  ASSERT_TRUE(reader.finished());
  EXPECT_EQ(reader.verdict(), Verdict::TooLarge);
  EXPECT_LE(reader.take_piece().size(), 1000u);
}

TEST(SmtpDataReader, BadLineEndingWinsOverOtherProblems) {
  const std::string long_line = std::string(2000, 'x') + "\r\n";
  EXPECT_EQ(read_all(long_line + "a\nb\r\n.\r\n", std::string::npos, 10).verdict, Verdict::BadLineEnding);
  EXPECT_EQ(read_all("a\nb\r\n" + long_line + ".\r\n", std::string::npos, 10).verdict, Verdict::BadLineEnding);
}

TEST(SmtpDataReader, LongLineWinsOverSize) {
  const std::string long_line = std::string(2000, 'x') + "\r\n";
  EXPECT_EQ(read_all("0123456789abc\r\n" + long_line + ".\r\n", std::string::npos, 10).verdict,
            Verdict::LineTooLong);
}

TEST(SmtpDataReader, EightBitContentIsKept) {
  EXPECT_EQ(read_all("gr\xC3\xBC\xC3\x9F\x7F\x01\r\n.\r\n").body, "gr\xC3\xBC\xC3\x9F\x7F\x01\r\n");
}

// ---- Pieces ----

TEST(SmtpDataReader, PiecesAreBoundedAndJoinToTheWholeContent) {
  std::string input;
  for (int i = 0; i < 40; ++i) input += "..line " + std::to_string(i) + " of text\r\n\r\n";
  input += ".\r\n";
  const Read whole = read_all(input);
  ASSERT_EQ(whole.verdict, Verdict::Ok);
  ASSERT_EQ(whole.piece_sizes.size(), 1u);
  for (std::size_t piece_size = 2; piece_size <= 33; piece_size += 31) {
    for (std::size_t read_size = 1; read_size <= 9; ++read_size) {
      const Read split = read_all(input, read_size, kLimit, piece_size);
      EXPECT_EQ(split.verdict, Verdict::Ok);
      EXPECT_EQ(split.consumed, input.size());
      EXPECT_EQ(split.body, whole.body);
      for (const std::size_t size : split.piece_sizes) EXPECT_LE(size, piece_size);
      EXPECT_GT(split.piece_sizes.size(), 1u);
    }
  }
}

TEST(SmtpDataReader, FullPieceStopsTheReaderUntilTaken) {
  DataReader reader(kLimit, 8);
  EXPECT_EQ(reader.consume("abcdefghijkl\r\n.\r\n"), 7u);
  EXPECT_TRUE(reader.piece_ready());
  EXPECT_EQ(reader.consume("hijkl\r\n.\r\n"), 0u);
  EXPECT_EQ(reader.take_piece(), "abcdefg");
  EXPECT_FALSE(reader.piece_ready());
  EXPECT_EQ(reader.consume("hijkl\r\n.\r\n"), 7u);
  EXPECT_EQ(reader.take_piece(), "hijkl\r\n");
  EXPECT_EQ(reader.consume(".\r\n"), 3u);
  EXPECT_TRUE(reader.finished());
  EXPECT_EQ(reader.take_piece(), "");
}

TEST(SmtpDataReader, RefusedMessageHandsOverNothingMore) {
  DataReader reader(kLimit, 8);
  reader.consume("abcdefghij\r\n");
  EXPECT_EQ(reader.take_piece(), "abcdefg");
  reader.consume("hij\nbare LF\r\n.\r\n");
  EXPECT_TRUE(reader.finished());
  EXPECT_EQ(reader.verdict(), Verdict::BadLineEnding);
  EXPECT_EQ(reader.take_piece(), "");
}

TEST(SmtpDataReader, TooLargeCountsThePiecesAlreadyTaken) {
  const Read read = read_all("0123456789\r\n.\r\n", std::string::npos, 11, 4);
  EXPECT_TRUE(read.finished);
  EXPECT_EQ(read.verdict, Verdict::TooLarge);
  EXPECT_EQ(read.body, "012345678");  // taken before the limit was crossed; the driver drops them
}

TEST(SmtpDataReader, AnySplitGivesTheSameResult) {
  const std::vector<std::string> inputs = {
      "Subject: x\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n",
      "hello\n.\r\nsmuggled\r\n.\r\n",
      "a\r.\r\nb\r\n.\r\n",
      std::string(1200, 'y') + "\r\n.\r\n",
      "0123456789abcdef\r\n.\r\n",
      ".\r\n",
  };
  std::mt19937 random(1870);
  for (const std::string& input : inputs) {
    const Read whole = read_all(input, std::string::npos, 16);
    for (std::size_t piece = 1; piece <= 7; ++piece) {
      const Read split = read_all(input, piece, 16);
      EXPECT_EQ(split.consumed, whole.consumed);
      EXPECT_EQ(split.verdict, whole.verdict);
      if (whole.verdict == Verdict::Ok) {
        EXPECT_EQ(split.body, whole.body);
      }
    }
    for (int round = 0; round < 50; ++round) {
      DataReader reader(16);
      std::size_t pos = 0;
      while (pos < input.size() && !reader.finished()) {
        pos += reader.consume(input.substr(pos, std::uniform_int_distribution<std::size_t>(1, 9)(random)));
      }
      EXPECT_EQ(pos, whole.consumed);
      EXPECT_EQ(reader.verdict(), whole.verdict);
    }
  }
}

}  // namespace
