// Command lines: CRLF framing, the 1000-octet limit, bare CR or LF and NUL (SMTP smuggling),
// trailing spaces.
#include "tests/unit/smtp_protocol_dialog.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace smtp;
using namespace smtp_test;
using namespace std::string_literals;

TEST(SmtpProtocol, CommandWaitsForItsCrLf) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("NO"), "");
  EXPECT_TRUE(dialog.needs_input());
  EXPECT_EQ(dialog.feed("OP\r"), "");
  EXPECT_EQ(dialog.feed("\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, CommandLineOf1000OctetsIsAccepted) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("NOOP " + std::string(993, 'x') + "\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, CommandLineOf1001OctetsIs500LineTooLong) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("NOOP " + std::string(994, 'x') + "\r\n"), "500 5.5.2 Line too long\r\n");
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, RestOfOverlongLineIsSkippedNotInterpreted) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed(std::string(1000, 'x') + "QUIT\r\nNOOP\r\n"), "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
  EXPECT_FALSE(dialog.closed());
}

TEST(SmtpProtocol, OverlongLineOverManyReadsIsOneErrorWithBoundedBuffer) {
  Dialog dialog;
  std::string replies;
  for (int i = 0; i < 256; ++i) {
    replies += dialog.feed(std::string(4096, 'x'));
    EXPECT_LT(dialog.protocol().buffered_bytes(), kMaxCommandLine);
  }
  replies += dialog.feed("\r\nNOOP\r\n");
  EXPECT_EQ(replies, "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, BareLfIs500) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("NOOP\n"), "500 5.5.2 Bare CR or LF not allowed\r\n");
  EXPECT_EQ(dialog.feed("\n"), "500 5.5.2 Bare CR or LF not allowed\r\n");
}

TEST(SmtpProtocol, BareCrIs500) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("NOOP\rQUIT\r\n"), "500 5.5.2 Bare CR or LF not allowed\r\n");
  EXPECT_EQ(dialog.feed("NOOP\r\r\n"), "500 5.5.2 Bare CR or LF not allowed\r\n");
  EXPECT_FALSE(dialog.closed());
}

TEST(SmtpProtocol, NulIs500) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("NOOP\0x\r\n"s), "500 5.5.2 NUL not allowed\r\n");
}

TEST(SmtpProtocol, TrailingSpacesAfterArgumentsAreTolerated) {
  Dialog dialog = with_recipient();
  EXPECT_EQ(dialog.feed("DATA  \r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
}

}  // namespace
