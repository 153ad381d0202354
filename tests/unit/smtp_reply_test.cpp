// The wire form of replies (RFC 5321 §4.2, enhanced codes per RFC 2034 §4).
#include "server/smtp/reply.hpp"

#include <gtest/gtest.h>

namespace {

using smtp::Reply;

TEST(SmtpReply, OneLineWithEnhancedCode) {
  EXPECT_EQ(Reply::line(250, "2.1.0", "Ok").wire(), "250 2.1.0 Ok\r\n");
}

TEST(SmtpReply, OneLineWithoutEnhancedCode) {
  EXPECT_EQ(Reply::line(220, "", "mx.example.org ESMTP Postern").wire(), "220 mx.example.org ESMTP Postern\r\n");
}

TEST(SmtpReply, EmptyTextKeepsTheSpaceAfterTheCode) {
  EXPECT_EQ(Reply::line(334, "", "").wire(), "334 \r\n");
  EXPECT_EQ((Reply{334, "", {}}).wire(), "334 \r\n");
}

TEST(SmtpReply, MultiLineMarksAllButTheLastWithDash) {
  const Reply reply{250, "", {"mx.example.org Hello x", "PIPELINING", "8BITMIME"}};
  EXPECT_EQ(reply.wire(), "250-mx.example.org Hello x\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
}

TEST(SmtpReply, MultiLineRepeatsTheEnhancedCodeOnEveryLine) {
  const Reply reply{550, "5.7.1", {"Rejected:", "policy says no"}};
  EXPECT_EQ(reply.wire(), "550-5.7.1 Rejected:\r\n550 5.7.1 policy says no\r\n");
}

TEST(SmtpReply, RepliesCompareByValue) {
  EXPECT_EQ(Reply::line(250, "2.0.0", "Ok"), (Reply{250, "2.0.0", {"Ok"}}));
  EXPECT_NE(Reply::line(250, "2.0.0", "Ok"), Reply::line(250, "2.1.0", "Ok"));
}

}  // namespace
