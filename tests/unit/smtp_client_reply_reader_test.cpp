// The SMTP client's reply reader: replies in any pieces, multi-line replies, EHLO
// capabilities, and the malformed or oversized input that must end the session.
#include "server/smtp/base64.hpp"
#include "server/smtp_client/capabilities.hpp"
#include "server/smtp_client/reply_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using smtp::Reply;
using smtp_client::parse_ehlo;
using smtp_client::ReplyReader;

std::vector<Reply> read_all(ReplyReader& reader) {
  std::vector<Reply> out;
  while (auto reply = reader.next()) out.push_back(std::move(*reply));
  return out;
}

Reply reply_of(const std::string& wire) {
  ReplyReader reader;
  reader.feed(wire);
  auto reply = reader.next();
  EXPECT_TRUE(reply.has_value()) << wire;
  EXPECT_FALSE(reader.failed()) << reader.error();
  return reply.value_or(Reply{});
}

TEST(SmtpClientReplyReader, OneLineReplyWithEnhancedCode) {
  Reply reply = reply_of("250 2.1.0 Ok\r\n");
  EXPECT_EQ(reply.code, 250);
  EXPECT_EQ(reply.enhanced, "2.1.0");
  ASSERT_EQ(reply.lines.size(), 1u);
  EXPECT_EQ(reply.lines[0], "Ok");  // the enhanced code is in reply.enhanced only, as on the server side
  EXPECT_EQ(reply.one_line(), "250 2.1.0 Ok");
  EXPECT_TRUE(reply.positive());
}

TEST(SmtpClientReplyReader, ReplyWithoutTextOrEnhancedCode) {
  Reply bare = reply_of("250\r\n");
  EXPECT_EQ(bare.code, 250);
  EXPECT_EQ(bare.enhanced, "");
  EXPECT_EQ(bare.one_line(), "250");
  Reply greeting = reply_of("220 mx.example ESMTP ready\r\n");
  EXPECT_EQ(greeting.enhanced, "");
  EXPECT_EQ(greeting.one_line(), "220 mx.example ESMTP ready");
}

TEST(SmtpClientReplyReader, EnhancedCodeMustMatchTheClassAndBeWellFormed) {
  EXPECT_EQ(reply_of("550 4.1.1 mismatched class\r\n").enhanced, "");
  EXPECT_EQ(reply_of("550 5.1 too short\r\n").enhanced, "");
  EXPECT_EQ(reply_of("550 5.1.1234 long detail\r\n").enhanced, "");
  EXPECT_EQ(reply_of("550 5.1.1x glued\r\n").enhanced, "");
  EXPECT_EQ(reply_of("550 5.7.1\r\n").enhanced, "5.7.1");
  EXPECT_EQ(reply_of("550 5.7.1\r\n").one_line(), "550 5.7.1");
  EXPECT_EQ(reply_of("550 4.1.1 mismatched class\r\n").lines[0], "4.1.1 mismatched class");
  EXPECT_EQ(reply_of("451 4.4.10 three digits\r\n").enhanced, "4.4.10");
}

TEST(SmtpClientReplyReader, MultiLineReplyIsOneReply) {
  ReplyReader reader;
  reader.feed("250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
  auto replies = read_all(reader);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].code, 250);
  EXPECT_EQ(replies[0].lines, (std::vector<std::string>{"mx.example", "PIPELINING", "SIZE 1000"}));
  EXPECT_FALSE(reader.has_pending());
}

TEST(SmtpClientReplyReader, OneLineJoinsLinesAndDropsRepeatedEnhancedCodes) {
  Reply reply = reply_of(
      "550-5.1.1 The email account that you tried to reach does not exist.\r\n"
      "550-5.1.1 Please try double-checking the recipient's email address.\r\n"
      "550 5.1.1 https://support.example/answer - gsmtp\r\n");
  EXPECT_EQ(reply.enhanced, "5.1.1");
  EXPECT_EQ(reply.lines.back(), "https://support.example/answer - gsmtp");
  EXPECT_EQ(reply.one_line(),
            "550 5.1.1 The email account that you tried to reach does not exist.; "
            "Please try double-checking the recipient's email address.; https://support.example/answer - gsmtp");
}

TEST(SmtpClientReplyReader, OneLineIsSanitisedAndBounded) {
  Reply reply;
  reply.code = 550;
  reply.lines = {"bad\x01" "byte\x7f", std::string(3000, 'x')};
  std::string line = reply.one_line();
  EXPECT_EQ(line.substr(0, 16), "550 bad?byte?; x");
  EXPECT_EQ(line.size(), 1000u);
}

TEST(SmtpClientReplyReader, SplitAcrossReadsAtEveryByte) {
  const std::string wire = "250-first\r\n250 last\r\n354 go ahead\r\n";
  ReplyReader reader;
  std::vector<Reply> replies;
  for (char c : wire) {
    reader.feed(std::string(1, c));
    for (auto& r : read_all(reader)) replies.push_back(std::move(r));
  }
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].lines, (std::vector<std::string>{"first", "last"}));
  EXPECT_EQ(replies[1].code, 354);
  EXPECT_FALSE(reader.failed());
}

TEST(SmtpClientReplyReader, PipelinedRepliesComeOutInOrder) {
  ReplyReader reader;
  reader.feed("250 2.1.0 Ok\r\n550 5.1.1 no such user\r\n250 2.1.5 Ok\r\n354 End data\r\n");
  auto replies = read_all(reader);
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[0].code, 250);
  EXPECT_EQ(replies[1].code, 550);
  EXPECT_EQ(replies[1].one_line(), "550 5.1.1 no such user");
  EXPECT_EQ(replies[2].code, 250);
  EXPECT_EQ(replies[3].code, 354);
}

TEST(SmtpClientReplyReader, IncompleteReplyWaitsAndIsPending) {
  ReplyReader reader;
  reader.feed("250-first\r\n250 la");
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_FALSE(reader.failed());
  EXPECT_TRUE(reader.has_pending());
  reader.feed("st\r\n");
  auto reply = reader.next();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->lines.size(), 2u);
  EXPECT_FALSE(reader.has_pending());
}

TEST(SmtpClientReplyReader, DataAfterAReplyIsPending) {
  // What a STARTTLS reply followed by injected plaintext looks like.
  ReplyReader reader;
  reader.feed("220 2.0.0 Ready to start TLS\r\n250 injected\r\n");
  ASSERT_TRUE(reader.next().has_value());
  EXPECT_TRUE(reader.has_pending());
}

TEST(SmtpClientReplyReader, BareLineFeedIsAccepted) {
  ReplyReader reader;
  reader.feed("250-a\n250 b\n");
  auto reply = reader.next();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->lines, (std::vector<std::string>{"a", "b"}));
}

TEST(SmtpClientReplyReader, NonDigitCodeIsAProtocolError) {
  ReplyReader reader;
  reader.feed("HTTP/1.1 400 Bad Request\r\n");
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_TRUE(reader.failed());
  EXPECT_NE(reader.error().find("malformed"), std::string::npos);
  reader.feed("250 Ok\r\n");  // ignored once failed
  EXPECT_FALSE(reader.next().has_value());
}

TEST(SmtpClientReplyReader, MalformedLines) {
  for (const std::string wire : {"25\r\n", "2500 x\r\n", "250x\r\n", "150 info\r\n", "650 x\r\n", "260 x\r\n",
                                 "\r\n", "abc def\r\n"}) {
    ReplyReader reader;
    reader.feed(wire);
    EXPECT_FALSE(reader.next().has_value()) << wire;
    EXPECT_TRUE(reader.failed()) << wire;
  }
}

TEST(SmtpClientReplyReader, CodeChangingWithinAReplyIsAProtocolError) {
  ReplyReader reader;
  reader.feed("250-first\r\n550 last\r\n");
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_TRUE(reader.failed());
}

TEST(SmtpClientReplyReader, OverlongLineIsAnErrorEvenBeforeItEnds) {
  ReplyReader reader(64);
  reader.feed("250 " + std::string(100, 'x'));
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_TRUE(reader.failed());
  EXPECT_NE(reader.error().find("longer than 64"), std::string::npos);

  ReplyReader complete(64);
  complete.feed("250 " + std::string(100, 'x') + "\r\n");
  EXPECT_FALSE(complete.next().has_value());
  EXPECT_TRUE(complete.failed());

  ReplyReader fits(64);
  fits.feed("250 " + std::string(58, 'x') + "\r\n");  // 64 bytes with the CRLF
  EXPECT_TRUE(fits.next().has_value());
}

TEST(SmtpClientReplyReader, TooManyLinesIsAnError) {
  ReplyReader reader(4096, 3);
  reader.feed("250-a\r\n250-b\r\n250-c\r\n250-d\r\n");
  EXPECT_FALSE(reader.next().has_value());
  EXPECT_TRUE(reader.failed());
}

TEST(SmtpClientReplyReader, EhloCapabilities) {
  auto caps = parse_ehlo(reply_of(
      "250-smtp.example.com Hello relay\r\n250-PIPELINING\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n"
      "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-AUTH LOGIN PLAIN XOAUTH2\r\n250 SMTPUTF8\r\n"));
  EXPECT_TRUE(caps.pipelining);
  EXPECT_TRUE(caps.size);
  EXPECT_EQ(caps.max_size, 35882577u);
  EXPECT_TRUE(caps.eight_bit_mime);
  EXPECT_TRUE(caps.starttls);
  EXPECT_TRUE(caps.enhanced_status_codes);
  EXPECT_TRUE(caps.smtputf8);
  EXPECT_EQ(caps.auth, (std::vector<std::string>{"LOGIN", "PLAIN", "XOAUTH2"}));
  EXPECT_TRUE(caps.offers_auth("plain"));
  EXPECT_FALSE(caps.offers_auth("CRAM-MD5"));
}

TEST(SmtpClientReplyReader, EhloGreetingLineIsNotAKeyword) {
  // The first line is the server's name, even when it looks like a keyword.
  auto caps = parse_ehlo(reply_of("250-PIPELINING\r\n250 8BITMIME\r\n"));
  EXPECT_FALSE(caps.pipelining);
  EXPECT_TRUE(caps.eight_bit_mime);
}

TEST(SmtpClientReplyReader, EhloSizeWithAndWithoutANumber) {
  auto bare = parse_ehlo(reply_of("250-mx\r\n250 SIZE\r\n"));
  EXPECT_TRUE(bare.size);
  EXPECT_EQ(bare.max_size, 0u);
  auto zero = parse_ehlo(reply_of("250-mx\r\n250 SIZE 0\r\n"));
  EXPECT_TRUE(zero.size);
  EXPECT_EQ(zero.max_size, 0u);
  auto junk = parse_ehlo(reply_of("250-mx\r\n250 SIZE lots\r\n"));
  EXPECT_TRUE(junk.size);
  EXPECT_EQ(junk.max_size, 0u);
  auto none = parse_ehlo(reply_of("250-mx\r\n250 8BITMIME\r\n"));
  EXPECT_FALSE(none.size);
}

TEST(SmtpClientReplyReader, EhloKeywordsAreCaseInsensitive) {
  auto caps =
      parse_ehlo(reply_of("250-mx\r\n250-pipelining\r\n250-StartTLS\r\n250-size 10\r\n250 auth plain login\r\n"));
  EXPECT_TRUE(caps.pipelining);
  EXPECT_TRUE(caps.starttls);
  EXPECT_EQ(caps.max_size, 10u);
  EXPECT_EQ(caps.auth, (std::vector<std::string>{"PLAIN", "LOGIN"}));
}

TEST(SmtpClientReplyReader, EhloOldAuthSyntaxMergesWithTheNewOne) {
  auto caps = parse_ehlo(reply_of("250-mx\r\n250-AUTH=LOGIN PLAIN\r\n250 AUTH LOGIN PLAIN CRAM-MD5\r\n"));
  EXPECT_EQ(caps.auth, (std::vector<std::string>{"LOGIN", "PLAIN", "CRAM-MD5"}));
  auto old_only = parse_ehlo(reply_of("250-mx\r\n250 AUTH=LOGIN\r\n"));
  EXPECT_EQ(old_only.auth, (std::vector<std::string>{"LOGIN"}));
}

TEST(SmtpClientReplyReader, HeloStyleReplyHasNoCapabilities) {
  auto caps = parse_ehlo(reply_of("250 mx.example\r\n"));
  EXPECT_FALSE(caps.pipelining);
  EXPECT_FALSE(caps.size);
  EXPECT_TRUE(caps.auth.empty());
}

TEST(SmtpClientReplyReader, LaterLinesKeepADifferentEnhancedCode) {
  Reply reply = reply_of("451-4.3.0 first\r\n451-4.7.1 second\r\n451 4.3.0\r\n");
  EXPECT_EQ(reply.enhanced, "4.3.0");
  EXPECT_EQ(reply.lines, (std::vector<std::string>{"first", "4.7.1 second", ""}));
  EXPECT_EQ(reply.one_line(), "451 4.3.0 first; 4.7.1 second");
}

TEST(SmtpClientReplyReader, ReadRepliesWriteBackAsTheyCame) {
  const std::string wire = "550-5.1.1 no such user\r\n550 5.1.1 see https://example/\r\n";
  EXPECT_EQ(reply_of(wire).wire(), wire);
}

TEST(SmtpClientReplyReader, RepliesBuiltHereReadAsOneLine) {
  EXPECT_EQ(Reply::line(451, "4.4.1", "connect to mx:25 failed").one_line(), "451 4.4.1 connect to mx:25 failed");
  EXPECT_EQ(Reply::line(250, "", "").one_line(), "250");
  EXPECT_TRUE(Reply::line(354, "", "go").positive());
  EXPECT_TRUE(Reply::line(421, "4.4.2", "bye").transient());
  EXPECT_TRUE(Reply::line(554, "5.7.1", "no").permanent());
}

TEST(SmtpClientReplyReader, Base64EncodeMatchesTheRfc4648TestVectors) {
  EXPECT_EQ(smtp::base64_encode(""), "");
  EXPECT_EQ(smtp::base64_encode("f"), "Zg==");
  EXPECT_EQ(smtp::base64_encode("fo"), "Zm8=");
  EXPECT_EQ(smtp::base64_encode("foo"), "Zm9v");
  EXPECT_EQ(smtp::base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(smtp::base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(smtp::base64_encode("foobar"), "Zm9vYmFy");
  const std::string binary("\0alice\0secret\xfb\xff", 15);
  EXPECT_EQ(smtp::base64_decode(smtp::base64_encode(binary)), binary);
}

}  // namespace
