// SASL PLAIN framing (RFC 4616 §2) and AUTH's initial response (RFC 4954 §4).
#include "server/smtp/sasl.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace smtp;
using namespace std::string_literals;

TEST(SmtpSasl, PlainMessageSplitsIntoItsThreeParts) {
  const auto plain = parse_plain_message("admin\0alice\0secret"s);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->authzid, "admin");
  EXPECT_EQ(plain->authcid, "alice");
  EXPECT_EQ(plain->password, "secret");
}

TEST(SmtpSasl, PlainMessageWithEmptyAuthzid) {
  const auto plain = parse_plain_message("\0alice\0pass word"s);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->authzid, "");
  EXPECT_EQ(plain->password, "pass word");
}

TEST(SmtpSasl, MalformedPlainMessagesAreRefused) {
  for (const std::string& message : {""s, "alice"s, "\0alice"s, "alice\0secret"s, "\0alice\0"s, "\0\0secret"s,
                                     "\0alice\0sec\0ret"s}) {
    EXPECT_FALSE(parse_plain_message(message)) << message.size();
  }
}

TEST(SmtpSasl, InitialResponseEqualsSignIsEmpty) {
  EXPECT_EQ(decode_initial_response("="), "");
  EXPECT_EQ(decode_initial_response("YWxpY2U="), "alice");
  EXPECT_FALSE(decode_initial_response("YWxpY2U"));
  EXPECT_FALSE(decode_initial_response("=="));
}

TEST(SmtpSasl, LoginChallengesAreBase64OfTheirPrompts) {
  EXPECT_EQ(kLoginUsernameChallenge, "VXNlcm5hbWU6");
  EXPECT_EQ(kLoginPasswordChallenge, "UGFzc3dvcmQ6");
}

}  // namespace
