// SASL OAUTHBEARER (RFC 7628 §3.1) and XOAUTH2 framing, and RFC 7628's error challenge.
#include "server/smtp/base64.hpp"
#include "server/smtp/sasl.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace smtp;
using namespace std::string_literals;

TEST(SmtpSaslBearer, OauthbearerWithAuthzidAndHostAndPort) {
  const auto message = parse_oauthbearer_message("n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
                                                 "auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"s);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->user, "user@example.com");
  EXPECT_EQ(message->token, "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
}

TEST(SmtpSaslBearer, OauthbearerWithoutAuthzidAndAnEscapedOne) {
  const auto bare = parse_oauthbearer_message("n,,\x01" "auth=bearer  a.b-c_d~e+f/g\x01\x01"s);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->user, "");
  EXPECT_EQ(bare->token, "a.b-c_d~e+f/g");
  const auto escaped = parse_oauthbearer_message("y,a=odd=2Cname=3D,\x01" "auth=Bearer t\x01\x01"s);
  ASSERT_TRUE(escaped);
  EXPECT_EQ(escaped->user, "odd,name=");
}

TEST(SmtpSaslBearer, MalformedOauthbearerMessagesAreRefused) {
  for (const std::string& message : {
           ""s, "\x01"s, "n,,\x01\x01"s,                               // no auth
           "n,,auth=Bearer t\x01\x01"s,                                // no kvsep after the gs2 header
           "n,,\x01" "auth=Bearer t\x01"s,                             // not ended by kvsep kvsep
           "p=tls-unique,,\x01" "auth=Bearer t\x01\x01"s,              // channel binding
           "n,u=alice,\x01" "auth=Bearer t\x01\x01"s,                  // not a=
           "n,a=,\x01" "auth=Bearer t\x01\x01"s,                       // empty authzid
           "n,a=al=ice,\x01" "auth=Bearer t\x01\x01"s,                 // bad saslname escape
           "n,,\x01" "auth=Basic dXNlcjpwYXNz\x01\x01"s,               // another scheme
           "n,,\x01" "auth=Bearer \x01\x01"s,                          // no token
           "n,,\x01" "auth=Bearer t t\x01\x01"s,                       // not a b64token
           "n,,\x01" "auth=Bearer =\x01\x01"s,
           "n,,\x01" "auth=Bearer t\x01" "auth=Bearer u\x01\x01"s,     // two of them
           "n,,\x01" "auth=Bearer t\x01\x01\x01"s,                     // an empty pair
           "n,,\x01" "host\x01" "auth=Bearer t\x01\x01"s,              // a pair without '='
           "n,,\x01" "h0st=x\x01" "auth=Bearer t\x01\x01"s,            // key not ALPHA
           "n,,\x01" "host=\x7f\x01" "auth=Bearer t\x01\x01"s,         // value not VCHAR
       }) {
    EXPECT_FALSE(parse_oauthbearer_message(message)) << message;
  }
}

TEST(SmtpSaslBearer, Xoauth2Message) {
  const auto message = parse_xoauth2_message("user=someuser@example.com\x01" "auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBh\x01\x01"s);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->user, "someuser@example.com");
  EXPECT_EQ(message->token, "ya29.vF9dft4qmTc2Nvb3RlckBh");
}

TEST(SmtpSaslBearer, MalformedXoauth2MessagesAreRefused) {
  for (const std::string& message : {
           ""s, "user=a\x01\x01"s, "user=\x01" "auth=Bearer t\x01\x01"s, "user=a\x01" "auth=Bearer t\x01"s,
           "user=a b\x01" "auth=Bearer t\x01\x01"s, "auth=Bearer t\x01user=a\x01\x01"s,
           "user=a\x01" "auth=Basic t\x01\x01"s, "user=a\x01" "auth=Bearer t\x01x\x01\x01"s,
       }) {
    EXPECT_FALSE(parse_xoauth2_message(message)) << message;
  }
}

TEST(SmtpSaslBearer, ErrorChallengeIsRfc7628Json) {
  EXPECT_EQ(base64_decode(bearer_error_challenge("")), R"({"status":"invalid_token","schemes":"bearer"})");
  EXPECT_EQ(base64_decode(bearer_error_challenge("https://mail.example.com/ smtp")),
            R"({"status":"invalid_token","schemes":"bearer","scope":"https://mail.example.com/ smtp"})");
}

}  // namespace
