// The message body on its way out (RFC 5321 §4.5.2): dot-stuffing that holds across piece
// boundaries, the final CRLF when missing, and SIZE='s count.
#include "server/smtp_client/dot_stuffer.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using smtp_client::DotStuffer;

std::string stuffed(std::string_view body, std::size_t piece) {
  DotStuffer stuffer;
  std::string out;
  for (std::size_t pos = 0; pos < body.size(); pos += piece) stuffer.stuff(body.substr(pos, piece), out);
  stuffer.finish(out);
  return out;
}

TEST(SmtpClientDotStuffer, LinesStartingWithADotGetAnother) {
  EXPECT_EQ(stuffed(".leading\r\n..two\r\n.\r\nlast\r\n. \r\n", 1000),
            "..leading\r\n...two\r\n..\r\nlast\r\n.. \r\n.\r\n");
}

TEST(SmtpClientDotStuffer, SameResultWhereverThePiecesSplit) {
  const std::string body = ".a\r\nb.\r\n.\r\n\r\n.c\r\r\n.d\n.e\r\n.";
  const std::string expected = "..a\r\nb.\r\n..\r\n\r\n..c\r\r\n..d\n.e\r\n..\r\n.\r\n";
  for (std::size_t piece = 1; piece <= body.size(); ++piece) {
    EXPECT_EQ(stuffed(body, piece), expected) << "pieces of " << piece;
  }
}

TEST(SmtpClientDotStuffer, CrAndLfInSeparatePieces) {
  DotStuffer stuffer;
  std::string out;
  stuffer.stuff("line\r", out);
  stuffer.stuff("\n", out);
  stuffer.stuff(".dot", out);
  stuffer.finish(out);
  EXPECT_EQ(out, "line\r\n..dot\r\n.\r\n");
}

TEST(SmtpClientDotStuffer, OnlyCrlfStartsALine) {
  EXPECT_EQ(stuffed("a\n.b\r.c\r\n", 1000), "a\n.b\r.c\r\n.\r\n");
}

TEST(SmtpClientDotStuffer, BodyWithoutFinalCrlfGetsOne) {
  EXPECT_EQ(stuffed("no line end", 4), "no line end\r\n.\r\n");
  EXPECT_EQ(stuffed("ends in CR\r", 4), "ends in CR\r\r\n.\r\n");
}

TEST(SmtpClientDotStuffer, EmptyBodyIsJustTheEnd) {
  EXPECT_EQ(stuffed("", 1), ".\r\n");
}

TEST(SmtpClientDotStuffer, SizeAsSentCountsTheAddedCrlf) {
  EXPECT_EQ(DotStuffer::size_as_sent(""), 0u);
  EXPECT_EQ(DotStuffer::size_as_sent("Hi.\r\n"), 5u);
  EXPECT_EQ(DotStuffer::size_as_sent("Hi."), 5u);
  EXPECT_EQ(DotStuffer::size_as_sent("\n"), 3u);
}

TEST(SmtpClientDotStuffer, LargeBodyInLargePieces) {
  std::string body;
  for (int i = 0; i < 400; ++i) body += "." + std::string(997, 'x') + "\r\n";
  std::string expected;
  for (int i = 0; i < 400; ++i) expected += ".." + std::string(997, 'x') + "\r\n";
  expected += ".\r\n";
  EXPECT_EQ(stuffed(body, 64 * 1024), expected);
}

}  // namespace
