// STARTTLS (RFC 3207): when it is offered and refused, and how the handshake resets the
// session and discards what was pipelined before it.
#include "tests/unit/smtp_protocol_dialog.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace smtp;
using namespace smtp_test;

TEST(SmtpProtocol, StartTlsIs220ThenHandshake) {
  Dialog dialog(plaintext_with_starttls());
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_TRUE(dialog.awaits<StartTls>());
  EXPECT_EQ(dialog.tls_handshake(), "");
  EXPECT_TRUE(dialog.needs_input());
  EXPECT_TRUE(dialog.protocol().tls_active());
}

TEST(SmtpProtocol, StartTlsWithArgumentIs501) {
  Dialog dialog(plaintext_with_starttls());
  EXPECT_EQ(dialog.feed("STARTTLS now\r\n"), "501 5.5.4 Syntax: STARTTLS\r\n");
}

TEST(SmtpProtocol, StartTlsUnderTlsIs503) {
  ProtocolOptions options = implicit_tls();
  options.tls_available = true;
  Dialog dialog(options);
  EXPECT_EQ(dialog.feed("STARTTLS\r\n"), "503 5.5.1 TLS already active\r\n");
}

TEST(SmtpProtocol, StartTlsWithoutCertificateIs454) {
  ProtocolOptions options = plaintext_with_starttls();
  options.tls_available = false;
  Dialog dialog(options);
  EXPECT_EQ(dialog.feed("STARTTLS\r\n"), "454 4.7.0 TLS not available\r\n");
}

TEST(SmtpProtocol, SecondStartTlsAfterHandshakeIs503) {
  Dialog dialog(plaintext_with_starttls());
  dialog.feed("STARTTLS\r\n");
  dialog.tls_handshake();
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("STARTTLS\r\n"), "503 5.5.1 TLS already active\r\n");
}

TEST(SmtpProtocol, CommandsPipelinedBeforeHandshakeAreDiscarded) {
  ProtocolOptions options = plaintext_with_starttls();
  options.auth_without_tls = true;
  Dialog dialog(options);
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("STARTTLS\r\nAUTH PLAIN " + kPlainAlice + "\r\nMAIL FROM:<alice@example.org>\r\n"),
            "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_TRUE(dialog.awaits<StartTls>());
  EXPECT_EQ(dialog.tls_handshake(), "");
  EXPECT_TRUE(dialog.needs_input());
  EXPECT_EQ(dialog.protocol().buffered_bytes(), 0u);
  EXPECT_EQ(dialog.feed("MAIL FROM:<alice@example.org>\r\n"), "503 5.5.1 Send EHLO first\r\n");
}

TEST(SmtpProtocol, PartialLineBeforeHandshakeIsDiscarded) {
  Dialog dialog(plaintext_with_starttls());
  dialog.feed("STARTTLS\r\nBOG");
  dialog.tls_handshake();
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, NextBeforeHandshakeRepeatsStartTlsAndReadsNothing) {
  Dialog dialog(plaintext_with_starttls());
  dialog.feed("STARTTLS\r\nNOOP\r\n");
  EXPECT_EQ(dialog.again(), "");
  EXPECT_TRUE(dialog.awaits<StartTls>());
}

TEST(SmtpProtocol, StartTlsForgetsAuthenticationAndTransaction) {
  ProtocolOptions options = plaintext_with_starttls();
  options.auth_without_tls = true;
  Dialog dialog = with_recipient(options);
  EXPECT_EQ(dialog.feed("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  dialog.tls_handshake();
  EXPECT_EQ(dialog.protocol().authenticated_user(), "");
  EXPECT_EQ(dialog.feed("EHLO client.example\r\n"),
            "250-mx.example.org Hello client.example\r\n"
            "250-PIPELINING\r\n"
            "250-SIZE 26214400\r\n"
            "250-8BITMIME\r\n"
            "250-SMTPUTF8\r\n"
            "250-ENHANCEDSTATUSCODES\r\n"
            "250 AUTH PLAIN LOGIN\r\n");
  EXPECT_EQ(dialog.feed("MAIL FROM:<alice@example.org>\r\n"), "530 5.7.0 Authentication required\r\n");
  EXPECT_EQ(dialog.feed("DATA\r\n"), "503 5.5.1 Need MAIL command\r\n");
}

TEST(SmtpProtocol, AuthAfterStartTlsSucceeds) {
  Dialog dialog(plaintext_with_starttls());
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n"),
            "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
  dialog.feed("STARTTLS\r\n");
  dialog.tls_handshake();
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n");
  EXPECT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(dialog.credentials_checked(Outcome::accepted()), "235 2.7.0 Authentication successful\r\n");
}

}  // namespace
