#include "server/filters/submission_headers.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace postern::filters {
namespace {

constexpr std::time_t kNow = 1795321200;  // date -u -d @1795321200: Sun, 22 Nov 2026 04:20:00
constexpr std::string_view kDate = "Sun, 22 Nov 2026 04:20:00 +0000";

SubmissionContext context() {
  SubmissionContext ctx;
  ctx.hostname = "relay.example";
  ctx.client_helo = "client.example";
  ctx.client_ip = "203.0.113.5";
  ctx.auth_user = "alice";
  ctx.queue_id = "4ABC12";
  ctx.tls = true;
  ctx.tls_version = "TLSv1.3";
  ctx.tls_cipher = "TLS_AES_256_GCM_SHA384";
  ctx.envelope_recipient_if_single = "bob@example.org";
  ctx.now = kNow;
  ctx.received_shows_user = true;  // the tests below show the user; ReceivedLeavesTheUserOut...
  return ctx;
}

// Just the trace field: the message already has Message-ID and Date.
std::string received_for(const SubmissionContext& ctx) {
  return submission_headers("Message-ID: <m@x>\r\nDate: d\r\n", ctx);
}

struct DateCase {
  std::time_t time;
  const char* text;  // from GNU date -u -d @time
};

TEST(FiltersSubmissionHeaders, FormatsDates) {
  const std::vector<DateCase> cases{
      {0, "Thu, 1 Jan 1970 00:00:00 +0000"},
      {-1, "Wed, 31 Dec 1969 23:59:59 +0000"},
      {946684799, "Fri, 31 Dec 1999 23:59:59 +0000"},
      {946684800, "Sat, 1 Jan 2000 00:00:00 +0000"},
      {951782400, "Tue, 29 Feb 2000 00:00:00 +0000"},  // leap day of a year divisible by 400
      {1078012800, "Sun, 29 Feb 2004 00:00:00 +0000"},
      {1709208000, "Thu, 29 Feb 2024 12:00:00 +0000"},
      {kNow, "Sun, 22 Nov 2026 04:20:00 +0000"},
      {2147483647, "Tue, 19 Jan 2038 03:14:07 +0000"},
      {2147483648, "Tue, 19 Jan 2038 03:14:08 +0000"},
      {4107542399, "Sun, 28 Feb 2100 23:59:59 +0000"},  // 2100 is no leap year
      {4107542400, "Mon, 1 Mar 2100 00:00:00 +0000"},
  };
  for (const auto& c : cases) EXPECT_EQ(rfc5322_date(c.time), c.text) << c.time;
}

TEST(FiltersSubmissionHeaders, ReceivedWithTlsAndOneRecipient) {
  EXPECT_EQ(received_for(context()),
            "Received: from client.example ([203.0.113.5])\r\n"
            "\tby relay.example (Postern) with ESMTPSA id 4ABC12\r\n"
            "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
            "\t(authenticated user alice)\r\n"
            "\tfor <bob@example.org>; Sun, 22 Nov 2026 04:20:00 +0000\r\n");
}

// Inbound mail (no AUTH) says ESMTP or ESMTPS, LMTP mail LMTP or LMTPS (RFC 3848 §2), and never
// names a user.
TEST(FiltersSubmissionHeaders, ReceivedNamesTheProtocolOfInboundMail) {
  auto ctx = context();
  ctx.auth_user.clear();
  EXPECT_EQ(received_for(ctx),
            "Received: from client.example ([203.0.113.5])\r\n"
            "\tby relay.example (Postern) with ESMTPS id 4ABC12\r\n"
            "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
            "\tfor <bob@example.org>; Sun, 22 Nov 2026 04:20:00 +0000\r\n");
  ctx.tls = false;
  EXPECT_NE(received_for(ctx).find(" with ESMTP id 4ABC12"), std::string::npos);
  ctx.lmtp = true;
  EXPECT_NE(received_for(ctx).find(" with LMTP id 4ABC12"), std::string::npos);
  ctx.tls = true;
  EXPECT_NE(received_for(ctx).find(" with LMTPS id 4ABC12"), std::string::npos);
  ctx.auth_user = "alice";
  ctx.tls = false;
  EXPECT_NE(received_for(ctx).find(" with LMTPA id 4ABC12"), std::string::npos);  ctx.client_ip = "local";  // an LMTP client on a unix socket
  EXPECT_TRUE(received_for(ctx).starts_with("Received: from client.example (local)\r\n")) << received_for(ctx);
}

TEST(FiltersSubmissionHeaders, ReceivedLeavesTheUserOutByDefault) {
  SubmissionContext defaults;
  EXPECT_FALSE(defaults.received_shows_user);
  auto ctx = context();
  ctx.received_shows_user = false;
  const auto received = received_for(ctx);
  EXPECT_EQ(received,
            "Received: from client.example ([203.0.113.5])\r\n"
            "\tby relay.example (Postern) with ESMTPSA id 4ABC12\r\n"
            "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
            "\tfor <bob@example.org>; Sun, 22 Nov 2026 04:20:00 +0000\r\n");
  EXPECT_EQ(received.find("alice"), std::string::npos);
  ctx.envelope_recipient_if_single.clear();
  ctx.tls = false;
  EXPECT_EQ(received_for(ctx),
            "Received: from client.example ([203.0.113.5])\r\n"
            "\tby relay.example (Postern) with ESMTPA id 4ABC12;\r\n"
            "\tSun, 22 Nov 2026 04:20:00 +0000\r\n");
}

TEST(FiltersSubmissionHeaders, ReceivedIpv6WithoutTlsSeveralRecipients) {
  auto ctx = context();
  ctx.client_ip = "2001:db8::1";
  ctx.tls = false;
  ctx.envelope_recipient_if_single.clear();
  EXPECT_EQ(received_for(ctx),
            "Received: from client.example ([IPv6:2001:db8::1])\r\n"
            "\tby relay.example (Postern) with ESMTPA id 4ABC12\r\n"
            "\t(authenticated user alice); Sun, 22 Nov 2026 04:20:00 +0000\r\n");
}

TEST(FiltersSubmissionHeaders, ReceivedTlsDetailsAreOptional) {
  auto ctx = context();
  ctx.tls_version.clear();
  ctx.tls_cipher.clear();
  const auto plain = received_for(ctx);
  EXPECT_NE(plain.find("with ESMTPSA id 4ABC12\r\n\t(authenticated user alice)\r\n"),
            std::string::npos)
      << plain;
  ctx.tls_cipher = "ECDHE-RSA-AES128-GCM-SHA256";
  EXPECT_NE(received_for(ctx).find("\t(with cipher ECDHE-RSA-AES128-GCM-SHA256)\r\n"),
            std::string::npos);
  ctx.tls_version = "TLSv1.2";
  ctx.tls_cipher.clear();
  EXPECT_NE(received_for(ctx).find("\t(using TLSv1.2)\r\n"), std::string::npos);
}

TEST(FiltersSubmissionHeaders, ReceivedFoldsLongParts) {
  auto ctx = context();
  ctx.client_helo = std::string(47, 'h') + ".example";  // "Received: from" line of 70
  ctx.envelope_recipient_if_single = std::string(50, 'r') + "@example.org";
  const auto received = received_for(ctx);
  EXPECT_EQ(received,
            "Received: from " + ctx.client_helo + "\r\n"
            "\t([203.0.113.5])\r\n"
            "\tby relay.example (Postern) with ESMTPSA id 4ABC12\r\n"
            "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
            "\t(authenticated user alice)\r\n"
            "\tfor <" + ctx.envelope_recipient_if_single + ">;\r\n"
            "\t" + std::string(kDate) + "\r\n");
  for (std::size_t begin = 0; begin < received.size();) {
    const auto end = received.find("\r\n", begin);
    EXPECT_LE(end - begin, 78u) << received.substr(begin, end - begin);
    begin = end + 2;
  }
}

TEST(FiltersSubmissionHeaders, ReceivedNeutralisesClientText) {
  auto ctx = context();
  ctx.client_helo = "evil;(x)\r\nX-Injected:";
  ctx.auth_user = "a)b";
  const auto received = received_for(ctx);
  EXPECT_TRUE(received.starts_with("Received: from evil??x???X-Injected: ([203.0.113.5])\r\n"))
      << received;
  EXPECT_NE(received.find("(authenticated user a?b)"), std::string::npos);
  ctx.client_helo = "[192.0.2.7]";  // an address literal is a valid EHLO argument
  EXPECT_TRUE(received_for(ctx).starts_with("Received: from [192.0.2.7] ([203.0.113.5])\r\n"));
}

TEST(FiltersSubmissionHeaders, AddsMessageIdAndDateOnlyWhenMissing) {
  auto ctx = context();
  ctx.add_received = false;
  EXPECT_EQ(submission_headers("From: a@example.com\r\n\r\nbody\r\n", ctx),
            "Message-ID: <4ABC12@relay.example>\r\nDate: " + std::string(kDate) + "\r\n");
  EXPECT_EQ(submission_headers("message-id: <x@y>\r\n\r\n", ctx),
            "Date: " + std::string(kDate) + "\r\n");
  EXPECT_EQ(submission_headers("DATE: Thu, 1 Jan 1970 00:00:00 +0000\r\n", ctx),
            "Message-ID: <4ABC12@relay.example>\r\n");
  EXPECT_EQ(submission_headers("Date : x\r\nMESSAGE-ID:\r\n <x@y>\r\n", ctx), "");
  // In the body they do not count.
  EXPECT_EQ(submission_headers("Subject: s\r\n\r\nMessage-ID: <x@y>\r\nDate: x\r\n", ctx),
            "Message-ID: <4ABC12@relay.example>\r\nDate: " + std::string(kDate) + "\r\n");
  ctx.add_message_id = false;
  ctx.add_date = false;
  EXPECT_EQ(submission_headers("Subject: s\r\n\r\n", ctx), "");
}

TEST(FiltersSubmissionHeaders, XPeerFollowsReceived) {
  auto ctx = context();
  ctx.add_x_peer = true;
  const auto headers = submission_headers("Message-ID: <m@x>\r\nDate: d\r\n", ctx);
  EXPECT_TRUE(headers.starts_with("Received: "));
  EXPECT_TRUE(headers.ends_with(">; " + std::string(kDate) + "\r\nX-Peer: 203.0.113.5\r\n"));
  ctx.add_received = false;
  EXPECT_EQ(submission_headers("Message-ID: <m@x>\r\nDate: d\r\n", ctx), "X-Peer: 203.0.113.5\r\n");
}

struct Applied {
  std::string message;
  std::string added;                 // the missing fields submission_headers() reports
  std::string expected_after_trace;  // what follows the Received field
};

TEST(FiltersSubmissionHeaders, ApplyKeepsHeadersAndBody) {
  const std::string mid = "Message-ID: <4ABC12@relay.example>\r\n";
  const std::string date = "Date: " + std::string(kDate) + "\r\n";
  const std::string body = "Line one\r\n\r\n.leading dot\r\nFrom: fake\r\nMessage-ID: <b@x>\r\n"
                           "8-bit \xc3\xa9\xff\r\n\r\n\r\n";
  const std::vector<Applied> cases{
      {"From: a@example.com\r\nSubject: s\r\n\r\n" + body, mid + date,
       "From: a@example.com\r\nSubject: s\r\n" + mid + date + "\r\n" + body},
      {"Subject: folded\r\n last\r\n\r\n" + body, mid + date,
       "Subject: folded\r\n last\r\n" + mid + date + "\r\n" + body},
      {"Message-Id: <c@x>\r\nDate: d\r\n\r\n" + body, "",
       "Message-Id: <c@x>\r\nDate: d\r\n\r\n" + body},
      {"message-id: <c@x>\r\n\r\n", date, "message-id: <c@x>\r\n" + date + "\r\n"},
      {"From: a@example.com\r\nSubject: s\r\n", mid + date,
       "From: a@example.com\r\nSubject: s\r\n" + mid + date},
      {"From: a@example.com", mid + date, "From: a@example.com\r\n" + mid + date},
      {"", mid + date, mid + date},
      {"\r\n" + body, mid + date, mid + date + "\r\n" + body},
  };
  const auto received = received_for(context());
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    EXPECT_EQ(apply_submission_headers(c.message, context()), received + c.expected_after_trace);
    EXPECT_EQ(submission_headers(c.message, context()), received + c.added);
  }
}

TEST(FiltersSubmissionHeaders, ApplyWithNothingToAddReturnsTheMessage) {
  auto ctx = context();
  ctx.add_received = false;
  const std::string message = "Date: d\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n";
  EXPECT_EQ(apply_submission_headers(message, ctx), message);
}

}  // namespace
}  // namespace postern::filters
