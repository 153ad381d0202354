// AUTH PLAIN and LOGIN (RFC 4954): preconditions, the SASL exchange, every verdict of the
// credential check, and AUTH data kept out of everything but VerifyCredentials.
#include "tests/unit/smtp_protocol_dialog.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using namespace smtp;
using namespace smtp_test;
using namespace std::string_literals;

// Base64 with padding (RFC 4648 §4), for SASL responses of any size.
std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t bits = 0;
    for (std::size_t k = 0; k < 3; ++k) bits = (bits << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0);
    for (std::size_t k = 0; k < 4; ++k) out += k <= n ? kAlphabet[(bits >> (18 - 6 * k)) & 0x3F] : '=';
  }
  return out;
}

TEST(SmtpProtocol, AuthBeforeEhloIs503) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n"), "503 5.5.1 Send EHLO first\r\n");
}

TEST(SmtpProtocol, AuthAfterHeloIs503) {
  Dialog dialog;
  dialog.feed("HELO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n"), "503 5.5.1 Send EHLO first\r\n");
}

TEST(SmtpProtocol, AuthWithoutTlsIs538) {
  Dialog dialog(plaintext_with_starttls());
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH LOGIN\r\n"), "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
}

TEST(SmtpProtocol, AuthInPlaintextWhenAllowedWithoutTls) {
  ProtocolOptions options = plaintext_with_starttls();
  options.auth_without_tls = true;
  Dialog dialog(options);
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n");
  EXPECT_TRUE(dialog.awaits<VerifyCredentials>());
}

TEST(SmtpProtocol, AuthPlainWithInitialResponseAsksToVerify) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n"), "");
  ASSERT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(std::get<VerifyCredentials>(dialog.stopped_at()), (VerifyCredentials{"", "alice", "secret"}));
  EXPECT_EQ(dialog.credentials_checked(Outcome::accepted()), "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(dialog.protocol().authenticated_user(), "alice");
}

// The credential check answers with the name as it is stored ("Alice" logs in as alice); the
// session uses that identity from then on: for MAIL FROM's grant check and the queued envelope.
TEST(SmtpProtocol, AuthenticatedIdentityIsTheCheckersNotAsTyped) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN " + base64("\0Alice\0secret"s) + "\r\n");
  ASSERT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(std::get<VerifyCredentials>(dialog.stopped_at()).user, "Alice");
  EXPECT_EQ(dialog.credentials_checked(Outcome::authenticated("alice")), "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(dialog.protocol().authenticated_user(), "alice");
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  ASSERT_TRUE(dialog.awaits<CheckSender>());
  EXPECT_EQ(std::get<CheckSender>(dialog.stopped_at()), (CheckSender{"alice", "alice@example.org"}));
  EXPECT_EQ(dialog.sender_checked(Outcome::accepted()), "250 2.1.0 Ok\r\n");
  dialog.feed("RCPT TO:<bob@example.net>\r\n");
  dialog.feed("DATA\r\n");
  dialog.feed("Subject: x\r\n\r\nhi\r\n.\r\n");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  EXPECT_EQ(std::get<AcceptMessage>(dialog.stopped_at()).envelope.user, "alice");
}

TEST(SmtpProtocol, AuthLoginIdentityIsTheCheckersToo) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH LOGIN " + base64("ALICE") + "\r\n");
  dialog.feed(base64("secret") + "\r\n");
  ASSERT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(dialog.credentials_checked(Outcome::authenticated("alice")), "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(dialog.protocol().authenticated_user(), "alice");
}

TEST(SmtpProtocol, AuthMechanismIsCaseInsensitive) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("auth plain " + kPlainAlice + "\r\n");
  EXPECT_TRUE(dialog.awaits<VerifyCredentials>());
}

TEST(SmtpProtocol, AuthPlainPassesAuthzidToTheDriver) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN YWRtaW4AYWxpY2UAc2VjcmV0\r\n");  // "admin\0alice\0secret"
  ASSERT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(std::get<VerifyCredentials>(dialog.stopped_at()), (VerifyCredentials{"admin", "alice", "secret"}));
}

TEST(SmtpProtocol, AuthPlainWithoutInitialResponseSendsEmptyChallenge) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(dialog.feed(kPlainAlice + "\r\n"), "");
  ASSERT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(std::get<VerifyCredentials>(dialog.stopped_at()), (VerifyCredentials{"", "alice", "secret"}));
}

TEST(SmtpProtocol, AuthPlainEmptyInitialResponseIsAnInvalidPayload) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN =\r\n"), "501 5.5.2 Invalid PLAIN payload\r\n");
}

TEST(SmtpProtocol, AuthPlainMalformedPayloadIs501) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN YWxpY2U=\r\n"), "501 5.5.2 Invalid PLAIN payload\r\n");          // "alice"
  EXPECT_EQ(dialog.feed("AUTH PLAIN YWxpY2UAc2VjcmV0\r\n"), "501 5.5.2 Invalid PLAIN payload\r\n");  // one NUL
  EXPECT_EQ(dialog.feed("AUTH PLAIN AGFsaWNlAA==\r\n"), "501 5.5.2 Invalid PLAIN payload\r\n");      // no password
  EXPECT_EQ(dialog.feed("AUTH PLAIN AABzZWNyZXQ=\r\n"), "501 5.5.2 Invalid PLAIN payload\r\n");      // no user
}

TEST(SmtpProtocol, AuthInvalidBase64Is501) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN AGFsaWNlAHNlY3JldA\r\n"), "501 5.5.2 Invalid base64 data\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(dialog.feed("not base64!\r\n"), "501 5.5.2 Invalid base64 data\r\n");
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, AuthStarCancels) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN\r\n");
  EXPECT_EQ(dialog.feed("*\r\n"), "501 5.7.0 Authentication cancelled\r\n");
  dialog.feed("AUTH LOGIN\r\n");
  EXPECT_EQ(dialog.feed("*\r\n"), "501 5.7.0 Authentication cancelled\r\n");
  dialog.feed("AUTH LOGIN\r\n");
  dialog.feed("YWxpY2U=\r\n");
  EXPECT_EQ(dialog.feed("*\r\n"), "501 5.7.0 Authentication cancelled\r\n");
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, AuthLoginPromptsForUsernameThenPassword) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(dialog.feed("YWxpY2U=\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(dialog.feed("c2VjcmV0\r\n"), "");
  ASSERT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(std::get<VerifyCredentials>(dialog.stopped_at()), (VerifyCredentials{"", "alice", "secret"}));
  EXPECT_EQ(dialog.credentials_checked(Outcome::accepted()), "235 2.7.0 Authentication successful\r\n");
}

TEST(SmtpProtocol, AuthLoginInitialResponseIsTheUsername) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH LOGIN YWxpY2U=\r\n"), "334 UGFzc3dvcmQ6\r\n");
  dialog.feed("c2VjcmV0\r\n");
  ASSERT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(std::get<VerifyCredentials>(dialog.stopped_at()), (VerifyCredentials{"", "alice", "secret"}));
}

TEST(SmtpProtocol, AuthLoginEmptyPasswordIs501) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH LOGIN YWxpY2U=\r\n");
  EXPECT_EQ(dialog.feed("\r\n"), "501 5.5.2 Invalid LOGIN payload\r\n");
}

TEST(SmtpProtocol, AuthUnknownMechanismIs504) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH CRAM-MD5\r\n"), "504 5.5.4 Unrecognized authentication mechanism\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAINX " + kPlainAlice + "\r\n"), "504 5.5.4 Unrecognized authentication mechanism\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAI " + kPlainAlice + "\r\n"), "504 5.5.4 Unrecognized authentication mechanism\r\n");
}

TEST(SmtpProtocol, AuthWithoutMechanismIs501) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH\r\n"), "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN a b\r\n"), "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n");
}

TEST(SmtpProtocol, AuthWhenAuthenticatedIs503) {
  Dialog dialog = authenticated();
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n"), "503 5.5.1 Already authenticated\r\n");
}

TEST(SmtpProtocol, AuthRejectedIs535AndMayBeRetried) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n");
  EXPECT_EQ(dialog.credentials_checked(Outcome::refused()), "535 5.7.8 Authentication credentials invalid\r\n");
  EXPECT_EQ(dialog.protocol().authenticated_user(), "");
  EXPECT_EQ(dialog.feed("MAIL FROM:<alice@example.org>\r\n"), "530 5.7.0 Authentication required\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n");
  EXPECT_EQ(dialog.credentials_checked(Outcome::accepted()), "235 2.7.0 Authentication successful\r\n");
}

TEST(SmtpProtocol, AuthTemporaryFailureIs454) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n");
  EXPECT_EQ(dialog.credentials_checked(Outcome::temporary_failure()), "454 4.7.0 Temporary authentication failure\r\n");
  EXPECT_TRUE(dialog.needs_input());
}

TEST(SmtpProtocol, AuthTooManyFailuresIs421AndClose) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\nNOOP\r\n");
  EXPECT_EQ(dialog.credentials_checked(Outcome::too_many_failures()), "421 4.7.0 Too many authentication failures\r\n");
  EXPECT_TRUE(dialog.closed());
}

TEST(SmtpProtocol, AuthResponseLineMayExceed1000Octets) {
  const std::string password(8000, 'p');
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN\r\n");
  dialog.feed(base64("\0alice\0"s + password) + "\r\n");
  ASSERT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(std::get<VerifyCredentials>(dialog.stopped_at()).password, password);
}

TEST(SmtpProtocol, AuthResponseLineOver12288OctetsIs500AndEndsTheExchange) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN\r\n");
  EXPECT_EQ(dialog.feed(std::string(12288, 'A') + "\r\nNOOP\r\n"), "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, AuthInitialResponseIsHeldToTheCommandLineLimit) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + base64("\0alice\0"s + std::string(800, 'p')) + "\r\n"),
            "500 5.5.2 Line too long\r\n");
}

TEST(SmtpProtocol, BadLineDuringAuthExchangeEndsIt) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH LOGIN\r\n");
  EXPECT_EQ(dialog.feed("YWxp\rY2U=\r\n"), "500 5.5.2 Bare CR or LF not allowed\r\n");
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, AuthDuringTransactionIs503) {
  Dialog dialog = in_transaction();
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n"), "503 5.5.1 Not allowed during a mail transaction\r\n");
}

// The driver never sees command lines: the credentials leave the protocol only in
// VerifyCredentials, and no reply echoes them, whatever the exchange.
TEST(SmtpProtocol, RepliesNeverEchoAuthData) {
  Dialog dialog;
  std::string replies = dialog.feed("EHLO client.example\r\n");
  replies += dialog.feed("AUTH plain " + kPlainAlice + "\r\n");
  replies += dialog.credentials_checked(Outcome::refused());
  replies += dialog.feed("AUTH LOGIN\r\n");
  replies += dialog.feed("YWxpY2U=\r\n");
  replies += dialog.feed("c2VjcmV0\r\n");
  ASSERT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(std::get<VerifyCredentials>(dialog.stopped_at()), (VerifyCredentials{"", "alice", "secret"}));
  replies += dialog.credentials_checked(Outcome::refused());
  replies += dialog.feed("AUTH c2VjcmV0 c2VjcmV0\r\n");
  replies += dialog.feed("AUTH PLAIN\r\n");
  replies += dialog.feed("c2Vj\rcmV0\r\n");
  for (const std::string& secret : {kPlainAlice, "YWxpY2U="s, "c2VjcmV0"s, "c2Vj"s, "alice"s, "secret"s}) {
    EXPECT_EQ(replies.find(secret), std::string::npos) << secret;
  }
}

}  // namespace
