// What ends a session early: HTTP requests at once, and 5xx replies after max_errors, whatever
// their cause.
#include "tests/unit/smtp_protocol_dialog.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace smtp;
using namespace smtp_test;

// ---- HTTP ----

class SmtpProtocolHttp : public testing::TestWithParam<std::string> {};

TEST_P(SmtpProtocolHttp, HttpRequestIs421AndClose) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed(GetParam() + " / HTTP/1.1\r\nHost: mx.example.org\r\n\r\n"),
            "421 4.7.0 HTTP not spoken here\r\n");
  EXPECT_TRUE(dialog.closed());
}

INSTANTIATE_TEST_SUITE_P(SmtpAllVerbs, SmtpProtocolHttp,
                         testing::Values("GET", "POST", "HEAD", "PUT", "CONNECT", "OPTIONS", "DELETE", "get",
                                         "Post"));

TEST(SmtpProtocol, HttpRequestAfterEhloIs421AndClose) {
  Dialog dialog = authenticated();
  EXPECT_EQ(dialog.feed("POST /submit HTTP/1.1\r\n"), "421 4.7.0 HTTP not spoken here\r\n");
  EXPECT_TRUE(dialog.closed());
}

// ---- Error counting ----

TEST(SmtpProtocol, FifthErrorIsFollowedBy421AndClose) {
  Dialog dialog;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(dialog.feed("BOGUS\r\n"), "500 5.5.1 Command unrecognized\r\n");
  EXPECT_EQ(dialog.feed("BOGUS\r\n"), "500 5.5.1 Command unrecognized\r\n421 4.7.0 Too many errors\r\n");
  EXPECT_TRUE(dialog.closed());
}

TEST(SmtpProtocol, EveryKindOf5xxCountsAsAnError) {
  Dialog dialog;
  dialog.feed("NOOP\n");                        // bad line
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");  // 503 sequence
  dialog.feed("EHLO\r\n");                      // 501 syntax
  dialog.feed("EXPN staff\r\n");                // 502
  EXPECT_EQ(dialog.feed(std::string(1001, 'x') + "\r\n"), "500 5.5.2 Line too long\r\n421 4.7.0 Too many errors\r\n");
  EXPECT_TRUE(dialog.closed());
}

TEST(SmtpProtocol, RejectedCredentialsCountAsErrors) {
  ProtocolOptions options = implicit_tls();
  options.max_errors = 2;
  Dialog dialog(options);
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n");
  EXPECT_EQ(dialog.credentials_checked(Outcome::refused()), "535 5.7.8 Authentication credentials invalid\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n");
  EXPECT_EQ(dialog.credentials_checked(Outcome::refused()),
            "535 5.7.8 Authentication credentials invalid\r\n421 4.7.0 Too many errors\r\n");
  EXPECT_TRUE(dialog.closed());
}

TEST(SmtpProtocol, TransientRepliesDoNotCountAsErrors) {
  ProtocolOptions options = implicit_tls();
  options.max_errors = 1;
  options.max_recipients = 1;
  Dialog dialog = with_recipient(options);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(dialog.feed("RCPT TO:<c@example.net>\r\n"), "452 4.5.3 Too many recipients\r\n");
  EXPECT_TRUE(dialog.needs_input());
}

TEST(SmtpProtocol, ErrorsBeforeStartTlsStillCountAfterIt) {
  ProtocolOptions options = plaintext_with_starttls();
  options.max_errors = 2;
  Dialog dialog(options);
  dialog.feed("BOGUS\r\n");
  dialog.feed("STARTTLS\r\n");
  dialog.tls_handshake();
  EXPECT_EQ(dialog.feed("BOGUS\r\n"), "500 5.5.1 Command unrecognized\r\n421 4.7.0 Too many errors\r\n");
}

}  // namespace
