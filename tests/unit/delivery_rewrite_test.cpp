#include <gtest/gtest.h>

#include "server/delivery/rewrite.hpp"
#include "server/filters/header_block.hpp"

namespace postern::delivery {
namespace {

Upstream upstream(std::string return_path, std::string reply_to) {
  Upstream u;
  u.rewrite_return_path = std::move(return_path);
  u.rewrite_reply_to = std::move(reply_to);
  return u;
}

const std::string kBody =
    "Body line\r\nReturn-Path: <in-the-body@example.com>\r\n"
    "Reply-To: body@example.com\r\n\r\n.. end\r\n";

TEST(DeliveryRewrite, NothingToRewriteKeepsTheMessage) {
  const std::string message = "Subject: hi\r\n\r\n" + kBody;
  EXPECT_EQ(apply_rewrites(message, Upstream{}), message);
}

TEST(DeliveryRewrite, ReturnPathReplacesEveryExistingOneAtTheTop) {
  const std::string message =
      "Received: from a\r\nReturn-Path: <old@example.com>\r\nSubject: hi\r\n"
      "return-path:\r\n <older@example.com>\r\n\r\n" +
      kBody;
  EXPECT_EQ(
      apply_rewrites(message, upstream("bounces@example.com", "")),
      "Return-Path: <bounces@example.com>\r\nReceived: from a\r\nSubject: hi\r\n\r\n" + kBody);
}

TEST(DeliveryRewrite, ReplyToTakesThePlaceOfTheFirstOne) {
  const std::string message =
      "From: a@example.com\r\nReply-To: x@example.com,\r\n y@example.com\r\nSubject: hi\r\n"
      "REPLY-TO: z@example.com\r\nTo: b@example.org\r\n\r\n" +
      kBody;
  EXPECT_EQ(apply_rewrites(message, upstream("", "support@example.com")),
            "From: a@example.com\r\nReply-To: support@example.com\r\nSubject: hi\r\n"
            "To: b@example.org\r\n\r\n" +
                kBody);
}

TEST(DeliveryRewrite, ReplyToIsAddedAtTheEndOfTheHeaderSection) {
  EXPECT_EQ(apply_rewrites("From: a@example.com\r\nSubject: hi\r\n\r\n" + kBody,
                           upstream("", "support@example.com")),
            "From: a@example.com\r\nSubject: hi\r\nReply-To: support@example.com\r\n\r\n" + kBody);
}

TEST(DeliveryRewrite, BothTogether) {
  EXPECT_EQ(apply_rewrites("Return-Path: <a@x.example>\r\nReply-To: r@x.example\r\n\r\n" + kBody,
                           upstream("bounces@example.com", "support@example.com")),
            "Return-Path: <bounces@example.com>\r\nReply-To: support@example.com\r\n\r\n" + kBody);
}

TEST(DeliveryRewrite, MessageWithoutBody) {
  const Upstream u = upstream("b@example.com", "s@example.com");
  EXPECT_EQ(apply_rewrites("Subject: hi\r\n", u),
            "Return-Path: <b@example.com>\r\nSubject: hi\r\nReply-To: s@example.com\r\n");
  EXPECT_EQ(apply_rewrites("Subject: hi", u),
            "Return-Path: <b@example.com>\r\nSubject: hi\r\nReply-To: s@example.com\r\n");
  EXPECT_EQ(apply_rewrites("", u), "Return-Path: <b@example.com>\r\nReply-To: s@example.com\r\n");
}

TEST(DeliveryRewrite, EmptyHeaderSectionKeepsTheBodySeparate) {
  EXPECT_EQ(apply_rewrites("\r\n" + kBody, upstream("", "s@example.com")),
            "Reply-To: s@example.com\r\n\r\n" + kBody);
}

TEST(DeliveryRewrite, BodyIsKeptByteForByte) {
  std::string body = "line\r\n\r\nReply-To: x\r\n";
  body += std::string("\0\x80\xff bare\nlf", 11);
  const std::string out = apply_rewrites("Reply-To: a@b.example\r\n\r\n" + body,
                                         upstream("r@example.com", "s@example.com"));
  ASSERT_GE(out.size(), body.size());
  EXPECT_EQ(out.substr(out.size() - body.size()), body);
}

// Delivery rewrites the header section alone (the body streams past): the header section with
// the rest appended is what apply_rewrites() makes of the whole message.
TEST(DeliveryRewrite, HeaderSectionFormMatchesTheWholeMessageForm) {
  const std::string messages[] = {
      "Return-Path: <a@x.example>\r\nReply-To: r@x.example\r\nSubject: hi\r\n\r\n" + kBody,
      "From: a@example.com\r\n\r\n" + kBody,
      "\r\n" + kBody,
      "Subject: hi\r\n",
      "Subject: hi",
      "",
  };
  for (const Upstream& u : {upstream("b@example.com", ""), upstream("", "s@example.com"),
                            upstream("b@example.com", "s@example.com"), Upstream{}}) {
    for (const std::string& message : messages) {
      SCOPED_TRACE(message);
      const std::size_t header_end = filters::parse_header_block(message).header_end;
      EXPECT_EQ(rewrite_header_section(message.substr(0, header_end), u) + message.substr(header_end),
                apply_rewrites(message, u));
    }
  }
  EXPECT_FALSE(rewrites_headers(Upstream{}));
  EXPECT_TRUE(rewrites_headers(upstream("", "s@example.com")));
}

TEST(DeliveryRewrite, HeaderSectionAlone) {
  EXPECT_EQ(rewrite_header_section("Reply-To: x@example.com\r\nSubject: hi\r\n",
                                   upstream("b@example.com", "s@example.com")),
            "Return-Path: <b@example.com>\r\nReply-To: s@example.com\r\nSubject: hi\r\n");
  EXPECT_EQ(rewrite_header_section("", upstream("", "s@example.com")), "Reply-To: s@example.com\r\n");
}

}  // namespace
}  // namespace postern::delivery
