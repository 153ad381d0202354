// AUTH OAUTHBEARER (RFC 7628) and XOAUTH2: offered only with OAuth and under TLS, the token handed
// to the driver with an initial response or after an empty challenge, and RFC 7628's error flow
// (334 with the error, the client's answer, then 535).
#include "tests/unit/smtp_protocol_dialog.hpp"

#include "server/smtp/base64.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace smtp;
using namespace smtp_test;
using namespace std::string_literals;

// Long enough that the AUTH line passes the 1000-octet command limit, as a real JWT does.
const std::string kToken = "eyJhbGciOiJSUzI1NiJ9." + std::string(1200, 'A') + ".c2lnbmF0dXJl";
const std::string kOauthbearer = "n,a=alice@example.com,\x01host=mx.example.org\x01port=587\x01" "auth=Bearer " +
                                 kToken + "\x01\x01";
const std::string kXoauth2 = "user=alice@example.com\x01" "auth=Bearer " + kToken + "\x01\x01";
const std::string kInvalidToken = R"({"status":"invalid_token","schemes":"bearer","scope":"mail"})";

ProtocolOptions with_oauth(ProtocolOptions options = implicit_tls()) {
  options.offer_oauth = true;
  options.oauth_scope = "mail";
  return options;
}

Dialog greeted(ProtocolOptions options = with_oauth()) {
  Dialog dialog(std::move(options));
  dialog.feed("EHLO client.example\r\n");
  return dialog;
}

TEST(SmtpProtocolOauth, EhloOffersTheMechanismsOnlyWithOauthAndUnderTls) {
  EXPECT_NE(greeted().feed("EHLO client.example\r\n").find("AUTH PLAIN LOGIN OAUTHBEARER XOAUTH2\r\n"),
            std::string::npos);
  EXPECT_NE(greeted(implicit_tls()).feed("EHLO client.example\r\n").find("AUTH PLAIN LOGIN\r\n"), std::string::npos);
  EXPECT_EQ(greeted(with_oauth(plaintext_with_starttls())).feed("EHLO client.example\r\n").find("AUTH"),
            std::string::npos);
  ProtocolOptions loopback = with_oauth(plaintext_with_starttls());
  loopback.auth_without_tls = true;  // allow_plaintext_auth_on_loopback
  EXPECT_NE(greeted(loopback).feed("EHLO client.example\r\n").find("OAUTHBEARER XOAUTH2"), std::string::npos);
}

TEST(SmtpProtocolOauth, WithoutOauthTheMechanismsAreUnknown) {
  Dialog dialog = greeted(implicit_tls());
  EXPECT_EQ(dialog.feed("AUTH OAUTHBEARER " + base64_encode("n,,\x01" "auth=Bearer t\x01\x01") + "\r\n"),
            "504 5.5.4 Unrecognized authentication mechanism\r\n");
  EXPECT_EQ(dialog.feed("AUTH XOAUTH2\r\n"), "504 5.5.4 Unrecognized authentication mechanism\r\n");
}

TEST(SmtpProtocolOauth, PlaintextWithoutLoopbackIs538) {
  Dialog dialog = greeted(with_oauth(plaintext_with_starttls()));
  EXPECT_EQ(dialog.feed("AUTH OAUTHBEARER " + base64_encode(kOauthbearer) + "\r\n"),
            "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
}

TEST(SmtpProtocolOauth, OauthbearerWithInitialResponse) {
  Dialog dialog = greeted();
  EXPECT_EQ(dialog.feed("AUTH OAUTHBEARER " + base64_encode(kOauthbearer) + "\r\n"), "");
  ASSERT_TRUE(dialog.awaits<VerifyBearerToken>());
  EXPECT_EQ(std::get<VerifyBearerToken>(dialog.stopped_at()),
            (VerifyBearerToken{"OAUTHBEARER", "alice@example.com", kToken}));
  EXPECT_EQ(dialog.credentials_checked(Outcome::authenticated("alice@example.com")),
            "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(dialog.protocol().authenticated_user(), "alice@example.com");
  dialog.feed("MAIL FROM:<alice@example.com>\r\n");
  ASSERT_TRUE(dialog.awaits<CheckSender>());
  EXPECT_EQ(std::get<CheckSender>(dialog.stopped_at()).user, "alice@example.com");
}

TEST(SmtpProtocolOauth, OauthbearerAfterAnEmptyChallenge) {
  Dialog dialog = greeted();
  EXPECT_EQ(dialog.feed("AUTH oauthbearer\r\n"), "334 \r\n");
  EXPECT_EQ(dialog.feed(base64_encode("n,,\x01" "auth=Bearer " + kToken + "\x01\x01") + "\r\n"), "");
  ASSERT_TRUE(dialog.awaits<VerifyBearerToken>());
  EXPECT_EQ(std::get<VerifyBearerToken>(dialog.stopped_at()), (VerifyBearerToken{"OAUTHBEARER", "", kToken}));
  EXPECT_EQ(dialog.credentials_checked(Outcome::authenticated("alice@example.com")),
            "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(dialog.protocol().authenticated_user(), "alice@example.com");
}

TEST(SmtpProtocolOauth, Xoauth2WithInitialResponseAndAfterAnEmptyChallenge) {
  Dialog first = greeted();
  EXPECT_EQ(first.feed("AUTH XOAUTH2 " + base64_encode(kXoauth2) + "\r\n"), "");
  ASSERT_TRUE(first.awaits<VerifyBearerToken>());
  EXPECT_EQ(std::get<VerifyBearerToken>(first.stopped_at()), (VerifyBearerToken{"XOAUTH2", "alice@example.com", kToken}));
  EXPECT_EQ(first.credentials_checked(Outcome::authenticated("alice@example.com")),
            "235 2.7.0 Authentication successful\r\n");

  Dialog second = greeted();
  EXPECT_EQ(second.feed("AUTH XOAUTH2\r\n"), "334 \r\n");
  second.feed(base64_encode(kXoauth2) + "\r\n");
  ASSERT_TRUE(second.awaits<VerifyBearerToken>());
  // Without an identity of the service's, the name the client gave is the session's.
  EXPECT_EQ(second.credentials_checked(Outcome::accepted()), "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(second.protocol().authenticated_user(), "alice@example.com");
}

// RFC 7628 §3.2.2: the error as a 334 challenge; the client sends %x01, then hears 535.
TEST(SmtpProtocolOauth, RefusedTokenGetsTheErrorChallengeThen535) {
  Dialog dialog = greeted();
  dialog.feed("AUTH OAUTHBEARER " + base64_encode(kOauthbearer) + "\r\n");
  const std::string challenge = dialog.credentials_checked(Outcome::refused());
  ASSERT_TRUE(challenge.starts_with("334 ")) << challenge;
  EXPECT_EQ(base64_decode(challenge.substr(4, challenge.size() - 6)), kInvalidToken);
  EXPECT_TRUE(dialog.needs_input());
  EXPECT_EQ(dialog.feed(base64_encode("\x01") + "\r\n"), "535 5.7.8 Authentication credentials invalid\r\n");
  EXPECT_EQ(dialog.protocol().authenticated_user(), "");
  // The session goes on: a command is a command again.
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

// XOAUTH2 clients answer the error with an empty line.
TEST(SmtpProtocolOauth, Xoauth2ClientsAnswerTheErrorWithAnEmptyLine) {
  Dialog dialog = greeted();
  dialog.feed("AUTH XOAUTH2 " + base64_encode(kXoauth2) + "\r\n");
  EXPECT_TRUE(dialog.credentials_checked(Outcome::refused()).starts_with("334 "));
  EXPECT_EQ(dialog.feed("\r\n"), "535 5.7.8 Authentication credentials invalid\r\n");
  EXPECT_EQ(dialog.feed("AUTH XOAUTH2 " + base64_encode(kXoauth2) + "\r\n"), "");
  EXPECT_TRUE(dialog.awaits<VerifyBearerToken>());
}

TEST(SmtpProtocolOauth, ErrorChallengeLeavesOutAnUnsetScope) {
  ProtocolOptions options = with_oauth();
  options.oauth_scope = "";
  Dialog dialog = greeted(options);
  dialog.feed("AUTH OAUTHBEARER " + base64_encode(kOauthbearer) + "\r\n");
  const std::string challenge = dialog.credentials_checked(Outcome::refused());
  EXPECT_EQ(base64_decode(challenge.substr(4, challenge.size() - 6)), R"({"status":"invalid_token","schemes":"bearer"})");
}

// The service decides that the authzid is not the token's user (CredentialCheck::verify_bearer):
// that is a refused token like any other.
TEST(SmtpProtocolOauth, AuthzidMismatchIsARefusedToken) {
  Dialog dialog = greeted();
  dialog.feed("AUTH OAUTHBEARER " + base64_encode("n,a=mallory@example.com,\x01" "auth=Bearer " + kToken + "\x01\x01") +
              "\r\n");
  ASSERT_TRUE(dialog.awaits<VerifyBearerToken>());
  EXPECT_EQ(std::get<VerifyBearerToken>(dialog.stopped_at()).user, "mallory@example.com");
  EXPECT_TRUE(dialog.credentials_checked(Outcome::refused()).starts_with("334 "));
  EXPECT_EQ(dialog.feed("AQ==\r\n"), "535 5.7.8 Authentication credentials invalid\r\n");
  EXPECT_EQ(dialog.protocol().authenticated_user(), "");
}

TEST(SmtpProtocolOauth, TemporaryFailureAndThrottlingSkipTheChallenge) {
  Dialog busy = greeted();
  busy.feed("AUTH OAUTHBEARER " + base64_encode(kOauthbearer) + "\r\n");
  EXPECT_EQ(busy.credentials_checked(Outcome::temporary_failure()), "454 4.7.0 Temporary authentication failure\r\n");
  Dialog throttled = greeted();
  throttled.feed("AUTH OAUTHBEARER " + base64_encode(kOauthbearer) + "\r\n");
  EXPECT_EQ(throttled.credentials_checked(Outcome::too_many_failures()),
            "421 4.7.0 Too many authentication failures\r\n");
  EXPECT_TRUE(throttled.closed());
}

// An accepted token that names nobody: without authzid only the service's identity can.
TEST(SmtpProtocolOauth, AcceptedWithoutAnyNameIsATemporaryFailure) {
  Dialog dialog = greeted();
  dialog.feed("AUTH OAUTHBEARER " + base64_encode("n,,\x01" "auth=Bearer " + kToken + "\x01\x01") + "\r\n");
  EXPECT_EQ(dialog.credentials_checked(Outcome::accepted()), "454 4.7.0 Temporary authentication failure\r\n");
  EXPECT_EQ(dialog.protocol().authenticated_user(), "");
}

TEST(SmtpProtocolOauth, MalformedMessagesAre501) {
  Dialog dialog = greeted();
  EXPECT_EQ(dialog.feed("AUTH OAUTHBEARER " + base64_encode("n,,auth=Bearer x") + "\r\n"),
            "501 5.5.2 Invalid OAUTHBEARER payload\r\n");
  EXPECT_EQ(dialog.feed("AUTH OAUTHBEARER =\r\n"), "501 5.5.2 Invalid OAUTHBEARER payload\r\n");
  EXPECT_EQ(dialog.feed("AUTH XOAUTH2 " + base64_encode("user=a\x01\x01") + "\r\n"), "501 5.5.2 Invalid XOAUTH2 payload\r\n");
  EXPECT_EQ(dialog.feed("AUTH XOAUTH2 not*base64\r\n"), "501 5.5.2 Invalid base64 data\r\n");
}

TEST(SmtpProtocolOauth, CancelAfterTheEmptyChallengeIs501) {
  Dialog dialog = greeted();
  EXPECT_EQ(dialog.feed("AUTH OAUTHBEARER\r\n"), "334 \r\n");
  EXPECT_EQ(dialog.feed("*\r\n"), "501 5.7.0 Authentication cancelled\r\n");
}

// A bearer token does not fit in 1000 octets: its AUTH line may be as long as a SASL response.
TEST(SmtpProtocolOauth, BearerAuthLinesMayBeLongerThanOtherCommands) {
  Dialog dialog = greeted();
  EXPECT_EQ(dialog.feed("NOOP " + std::string(1200, 'x') + "\r\n"), "500 5.5.2 Line too long\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + std::string(1200, 'x') + "\r\n"), "500 5.5.2 Line too long\r\n");
  EXPECT_EQ(greeted(implicit_tls()).feed("AUTH XOAUTH2 " + base64_encode(kXoauth2) + "\r\n"),
            "500 5.5.2 Line too long\r\n");
  const std::string line = "AUTH OAUTHBEARER " + base64_encode(kOauthbearer) + "\r\n";
  ASSERT_GT(line.size(), kMaxCommandLine);
  EXPECT_EQ(dialog.feed(line), "");
  EXPECT_TRUE(dialog.awaits<VerifyBearerToken>());
  Dialog overlong = greeted();
  EXPECT_EQ(overlong.feed("AUTH XOAUTH2 " + std::string(kMaxAuthResponseLine, 'A') + "\r\n"), "500 5.5.2 Line too long\r\n");
}

}  // namespace
