// Greeting, EHLO and HELO: what the server says first, the extensions it offers in each
// state, and the argument checks.
#include "tests/unit/smtp_protocol_dialog.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace smtp;
using namespace smtp_test;

TEST(SmtpProtocol, GreetsWith220HostnameWithoutEnhancedCode) {
  Dialog dialog;
  EXPECT_EQ(dialog.greeting(), kGreeting);
  EXPECT_TRUE(dialog.needs_input());
}

TEST(SmtpProtocol, EhloUnderTlsOffersAuthButNotStartTls) {
  ProtocolOptions options = implicit_tls();
  options.tls_available = true;
  Dialog dialog(options);
  EXPECT_EQ(dialog.feed("EHLO client.example\r\n"),
            "250-mx.example.org Hello client.example\r\n"
            "250-PIPELINING\r\n"
            "250-SIZE 26214400\r\n"
            "250-8BITMIME\r\n"
            "250-SMTPUTF8\r\n"
            "250-ENHANCEDSTATUSCODES\r\n"
            "250 AUTH PLAIN LOGIN\r\n");
}

TEST(SmtpProtocol, EhloInPlaintextOffersStartTlsButNotAuth) {
  Dialog dialog(plaintext_with_starttls());
  EXPECT_EQ(dialog.feed("EHLO client.example\r\n"),
            "250-mx.example.org Hello client.example\r\n"
            "250-PIPELINING\r\n"
            "250-SIZE 26214400\r\n"
            "250-8BITMIME\r\n"
            "250-SMTPUTF8\r\n"
            "250-ENHANCEDSTATUSCODES\r\n"
            "250 STARTTLS\r\n");
}

TEST(SmtpProtocol, EhloInPlaintextOffersAuthWhenAllowedWithoutTls) {
  ProtocolOptions options = plaintext_with_starttls();
  options.auth_without_tls = true;
  options.max_message_size = 1000;
  Dialog dialog(options);
  EXPECT_EQ(dialog.feed("EHLO client.example\r\n"),
            "250-mx.example.org Hello client.example\r\n"
            "250-PIPELINING\r\n"
            "250-SIZE 1000\r\n"
            "250-8BITMIME\r\n"
            "250-SMTPUTF8\r\n"
            "250-ENHANCEDSTATUSCODES\r\n"
            "250-STARTTLS\r\n"
            "250 AUTH PLAIN LOGIN\r\n");
}

TEST(SmtpProtocol, EhloWithoutCertificateOffersNeitherStartTlsNorAuth) {
  ProtocolOptions options = plaintext_with_starttls();
  options.tls_available = false;
  Dialog dialog(options);
  EXPECT_EQ(dialog.feed("EHLO client.example\r\n"),
            "250-mx.example.org Hello client.example\r\n"
            "250-PIPELINING\r\n"
            "250-SIZE 26214400\r\n"
            "250-8BITMIME\r\n"
            "250-SMTPUTF8\r\n"
            "250 ENHANCEDSTATUSCODES\r\n");
}

TEST(SmtpProtocol, EhloWithoutArgumentIs501) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("EHLO\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
  EXPECT_EQ(dialog.feed("EHLO \r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
}

TEST(SmtpProtocol, EhloWithSpaceOrControlCharacterInArgumentIs501) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("EHLO two words\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
  EXPECT_EQ(dialog.feed("EHLO bell\a\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
}

TEST(SmtpProtocol, EhloArgumentOver255OctetsIs501) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("EHLO " + std::string(256, 'a') + "\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
  EXPECT_EQ(dialog.feed("EHLO " + std::string(255, 'a') + "\r\n").substr(0, 4), "250-");
}

TEST(SmtpProtocol, HeloRepliesWithHostname) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("HELO client.example\r\n"), "250 mx.example.org\r\n");
}

TEST(SmtpProtocol, HeloWithoutArgumentIs501) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("HELO\r\n"), "501 5.5.4 Syntax: HELO hostname\r\n");
}

TEST(SmtpProtocol, VerbsAreCaseInsensitive) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("ehlo client.example\r\n").substr(0, 4), "250-");
  EXPECT_EQ(dialog.feed("nOoP\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(dialog.feed("helo client.example\r\n"), "250 mx.example.org\r\n");
}

TEST(SmtpProtocol, EhloEndsTheTransactionButNotTheAuthentication) {
  Dialog dialog = with_recipient();
  dialog.feed("EHLO again.example\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<bob@example.net>\r\n"), "503 5.5.1 Need MAIL command\r\n");
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  EXPECT_TRUE(dialog.awaits<CheckSender>());
}

TEST(SmtpProtocol, HeloEndsTheTransaction) {
  Dialog dialog = with_recipient();
  EXPECT_EQ(dialog.feed("HELO again.example\r\n"), "250 mx.example.org\r\n");
  EXPECT_EQ(dialog.feed("DATA\r\n"), "503 5.5.1 Need MAIL command\r\n");
}

}  // namespace
