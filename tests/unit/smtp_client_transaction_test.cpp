// The SMTP client's transaction, one dialog per edge case: MAIL parameters, refusals at MAIL,
// RCPT, DATA and the end of data, with and without PIPELINING, 421 at each step, and the
// refusals decided before anything is sent.
#include "tests/unit/smtp_client_dialog.hpp"

namespace {

using namespace smtp_client_test;
using smtp_client::Outcome;

TEST(SmtpClientTransaction, MailCarriesSizeAndBodyParameters) {
  ClientDialog d;
  auto e = envelope();
  e.eight_bit_mime = true;
  e.smtputf8 = true;
  d.begin(e);
  ASSERT_TRUE(d.play(then(greeted({"SIZE 1000", "8BITMIME", "SMTPUTF8"}), {
      "C: MAIL FROM:<alice@example.com> SIZE=5 BODY=8BITMIME SMTPUTF8",
      "S: 250 ok",
      "C: RCPT TO:<bob@example.net>",
      "S: 250 ok",
      "C: DATA",
      "S: 354 go",
      "-- body",
      "C: Hi.",
      "C: .",
      "S: 250 queued",
      "-- done",
  })));
  EXPECT_EQ(d.replies(), (Lines{"250 queued"}));
}

TEST(SmtpClientTransaction, EightBitMimeOnlyWhenOffered) {
  ClientDialog d;
  auto e = envelope();
  e.eight_bit_mime = true;
  d.begin(e);
  ASSERT_TRUE(d.play(then(greeted({"SIZE"}), {"C: MAIL FROM:<alice@example.com> SIZE=5", "S: 250 ok"})));
}

TEST(SmtpClientTransaction, NullSender) {
  ClientDialog d;
  auto e = envelope();
  e.sender = "";
  d.begin(e);
  ASSERT_TRUE(d.play(then(greeted(), {"C: MAIL FROM:<>", "S: 250 ok"})));
}

TEST(SmtpClientTransaction, PipeliningSendsMailRcptsAndDataInOneWrite) {
  ClientDialog d;
  d.begin(envelope({"a@example.net", "b@example.net"}));
  ASSERT_TRUE(d.play(then(greeted({"PIPELINING"}), {
      "C: MAIL FROM:<alice@example.com>",
      "C: RCPT TO:<a@example.net>",
      "C: RCPT TO:<b@example.net>",
      "C: DATA",
      "S: 250 2.1.0 Ok",
      "S: 250 2.1.5 Ok",
      "S: 250 2.1.5 Ok",
      "S: 354 go",
      "-- body",
      "C: Hi.",
      "C: .",
      "S: 250 2.0.0 queued",
      "-- done",
      "-- idle",
  })));
  EXPECT_EQ(d.writes()[1],
            "MAIL FROM:<alice@example.com>\r\nRCPT TO:<a@example.net>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n");
  EXPECT_EQ(d.replies(), (Lines{"250 2.0.0 queued", "250 2.0.0 queued"}));
}

TEST(SmtpClientTransaction, TheEndOfDataReplyHasTheLongDeadline) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "S: 250 ok",
      "C: RCPT TO:<bob@example.net>",
      "S: 250 ok",
      "C: DATA",
      "S: 354 go",
      "-- body",
      "C: Hi.",
      "C: .",
      "S: 250 queued",
      "-- done",
  })));
  ASSERT_GE(d.reads().size(), 2u);
  EXPECT_TRUE(d.reads().back().end_of_data);
  EXPECT_FALSE(d.reads()[d.reads().size() - 2].end_of_data);
}

TEST(SmtpClientTransaction, MailRefusedWithoutPipeliningResets) {
  ClientDialog d;
  d.begin(envelope({"a@example.net", "b@example.net"}));
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "S: 553 5.7.1 sender not allowed",
      "C: RSET",
      "S: 250 ok",
      "-- done",
      "-- idle",
  })));
  EXPECT_EQ(d.replies(), (Lines{"553 5.7.1 sender not allowed", "553 5.7.1 sender not allowed"}));
  EXPECT_EQ(d.outcomes(), (std::vector<Outcome>{Outcome::Permanent, Outcome::Permanent}));
  EXPECT_EQ(d.result().error, "mx.test:587 MAIL FROM refused: 553 5.7.1 sender not allowed");
}

TEST(SmtpClientTransaction, MailRefusedWithPipeliningReadsTheWholeGroup) {
  ClientDialog d;
  d.begin(envelope({"a@example.net"}));
  ASSERT_TRUE(d.play(then(greeted({"PIPELINING"}), {
      "C: MAIL FROM:<alice@example.com>",
      "C: RCPT TO:<a@example.net>",
      "C: DATA",
      "S: 451 4.3.0 try later",
      "S: 503 5.5.1 no MAIL",
      "S: 503 5.5.1 no valid recipients",
      "C: RSET",
      "S: 250 ok",
      "-- done",
      "-- idle",
  })));
  EXPECT_EQ(d.replies(), (Lines{"451 4.3.0 try later"}));
  EXPECT_EQ(d.result().error, "mx.test:587 MAIL FROM refused: 451 4.3.0 try later");
}

TEST(SmtpClientTransaction, MailRefusedWithPipeliningAndDataWantingTheBodyHangsUp) {
  ClientDialog d;
  d.begin(envelope({"a@example.net"}));
  ASSERT_TRUE(d.play(then(greeted({"PIPELINING"}), {
      "C: MAIL FROM:<alice@example.com>",
      "C: RCPT TO:<a@example.net>",
      "C: DATA",
      "S: 550 5.7.1 no",
      "S: 250 ok",
      "S: 354 go ahead",
      "-- done",
      "-- hang up",
  })));
  EXPECT_EQ(d.replies(), (Lines{"550 5.7.1 no"}));
}

TEST(SmtpClientTransaction, RecipientsWithMixedResults) {
  ClientDialog d;
  d.begin(envelope({"nobody@example.net", "busy@example.net", "bob@example.net"}));
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "S: 250 ok",
      "C: RCPT TO:<nobody@example.net>",
      "S: 550 5.1.1 <nobody@example.net>: no such user",
      "C: RCPT TO:<busy@example.net>",
      "S: 451 4.2.0 mailbox busy",
      "C: RCPT TO:<bob@example.net>",
      "S: 250 ok",
      "C: DATA",
      "S: 354 go",
      "-- body",
      "C: Hi.",
      "C: .",
      "S: 250 2.0.0 queued",
      "-- done",
      "-- idle",
  })));
  EXPECT_EQ(d.replies(), (Lines{"550 5.1.1 <nobody@example.net>: no such user", "451 4.2.0 mailbox busy",
                                "250 2.0.0 queued"}));
  EXPECT_EQ(d.outcomes(), (std::vector<Outcome>{Outcome::Permanent, Outcome::Temporary, Outcome::Delivered}));
  EXPECT_EQ(d.result().error, "");
  EXPECT_EQ(d.result().recipients[0].reply.enhanced, "5.1.1");
  EXPECT_EQ(d.result().recipients[0].reply.lines, (Lines{"<nobody@example.net>: no such user"}));
}

TEST(SmtpClientTransaction, AllRecipientsRefusedResetsWithoutData) {
  ClientDialog d;
  d.begin(envelope({"a@example.net", "b@example.net"}));
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "S: 250 ok",
      "C: RCPT TO:<a@example.net>",
      "S: 550 5.1.1 no a",
      "C: RCPT TO:<b@example.net>",
      "S: 451 4.3.0 try b later",
      "C: RSET",
      "S: 250 ok",
      "-- done",
      "-- idle",
  })));
  EXPECT_EQ(d.replies(), (Lines{"550 5.1.1 no a", "451 4.3.0 try b later"}));
  EXPECT_EQ(d.result().error, "");
  EXPECT_TRUE(d.protocol().reusable());
}

TEST(SmtpClientTransaction, AllRecipientsRefusedWithPipeliningAndDataRefused) {
  ClientDialog d;
  d.begin(envelope({"a@example.net"}));
  ASSERT_TRUE(d.play(then(greeted({"PIPELINING"}), {
      "C: MAIL FROM:<alice@example.com>",
      "C: RCPT TO:<a@example.net>",
      "C: DATA",
      "S: 250 ok",
      "S: 550 5.1.1 no a",
      "S: 554 5.5.1 no valid recipients",
      "C: RSET",
      "S: 250 ok",
      "-- done",
      "-- idle",
  })));
  EXPECT_EQ(d.replies(), (Lines{"550 5.1.1 no a"}));
  EXPECT_EQ(d.result().error, "");
}

TEST(SmtpClientTransaction, AllRecipientsRefusedWithPipeliningAndDataAcceptedHangsUp) {
  // The server wants a body nobody would receive: never send an empty message.
  ClientDialog d;
  d.begin(envelope({"a@example.net"}));
  ASSERT_TRUE(d.play(then(greeted({"PIPELINING"}), {
      "C: MAIL FROM:<alice@example.com>",
      "C: RCPT TO:<a@example.net>",
      "C: DATA",
      "S: 250 ok",
      "S: 550 5.1.1 no a",
      "S: 354 go ahead",
      "-- done",
      "-- hang up",
  })));
  EXPECT_EQ(d.replies(), (Lines{"550 5.1.1 no a"}));
  EXPECT_EQ(d.result().error, "");
  EXPECT_FALSE(d.protocol().reusable());
}

TEST(SmtpClientTransaction, DataRefused) {
  ClientDialog d;
  d.begin(envelope({"a@example.net", "x@example.net"}));
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "S: 250 ok",
      "C: RCPT TO:<a@example.net>",
      "S: 250 ok",
      "C: RCPT TO:<x@example.net>",
      "S: 550 5.1.1 no x",
      "C: DATA",
      "S: 554 5.7.1 no data today",
      "C: RSET",
      "S: 250 ok",
      "-- done",
      "-- idle",
  })));
  EXPECT_EQ(d.replies(), (Lines{"554 5.7.1 no data today", "550 5.1.1 no x"}));
  EXPECT_EQ(d.result().error, "");
}

TEST(SmtpClientTransaction, FinalReplyPermanentGoesToEveryAcceptedRecipient) {
  ClientDialog d;
  d.begin(envelope({"a@example.net", "x@example.net", "b@example.net"}));
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "S: 250 ok",
      "C: RCPT TO:<a@example.net>",
      "S: 250 ok",
      "C: RCPT TO:<x@example.net>",
      "S: 550 5.1.1 no x",
      "C: RCPT TO:<b@example.net>",
      "S: 250 ok",
      "C: DATA",
      "S: 354 go",
      "-- body",
      "C: Hi.",
      "C: .",
      "S: 554 5.7.1 spam detected",
      "-- done",
      "-- idle",
  })));
  EXPECT_EQ(d.replies(), (Lines{"554 5.7.1 spam detected", "550 5.1.1 no x", "554 5.7.1 spam detected"}));
  EXPECT_EQ(d.result().error, "");
}

TEST(SmtpClientTransaction, FinalReplyTemporary) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "S: 250 ok",
      "C: RCPT TO:<bob@example.net>",
      "S: 250 ok",
      "C: DATA",
      "S: 354 go",
      "-- body",
      "C: Hi.",
      "C: .",
      "S: 452 4.3.1 out of space",
      "-- done",
      "-- idle",
  })));
  EXPECT_EQ(d.outcomes(), (std::vector<Outcome>{Outcome::Temporary}));
  EXPECT_EQ(d.protocol().transactions(), 1u);
}

TEST(SmtpClientTransaction, FinalReply421HangsUp) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "S: 250 ok",
      "C: RCPT TO:<bob@example.net>",
      "S: 250 ok",
      "C: DATA",
      "S: 354 go",
      "-- body",
      "C: Hi.",
      "C: .",
      "S: 421 4.3.0 bye",
      "-- done",
      "-- hang up",
  })));
  EXPECT_EQ(d.replies(), (Lines{"421 4.3.0 bye"}));
  EXPECT_EQ(d.result().error, "");
}

TEST(SmtpClientTransaction, Mail421HangsUp) {
  ClientDialog d;
  d.begin(envelope({"a@example.net", "b@example.net"}));
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "S: 421 4.4.2 idle too long",
      "-- done",
      "-- hang up",
  })));
  EXPECT_EQ(d.replies(), (Lines{"421 4.4.2 idle too long", "421 4.4.2 idle too long"}));
  EXPECT_EQ(d.result().error, "mx.test:587 MAIL FROM refused: 421 4.4.2 idle too long");
  EXPECT_FALSE(d.result().stale);  // the first transaction of the session
}

TEST(SmtpClientTransaction, Rcpt421EndsTheTransactionForEveryoneLeft) {
  ClientDialog d;
  d.begin(envelope({"a@example.net", "b@example.net", "c@example.net"}));
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "S: 250 ok",
      "C: RCPT TO:<a@example.net>",
      "S: 250 ok",
      "C: RCPT TO:<b@example.net>",
      "S: 421 4.3.2 shutting down",
      "-- done",
      "-- hang up",
  })));
  EXPECT_EQ(d.replies(), (Lines{"421 4.3.2 shutting down", "421 4.3.2 shutting down", "421 4.3.2 shutting down"}));
  EXPECT_EQ(d.result().error, "mx.test:587 RCPT TO refused: 421 4.3.2 shutting down");
}

TEST(SmtpClientTransaction, UnexpectedIntermediateReplyToRcpt) {
  ClientDialog d;
  d.begin(envelope({"a@example.net", "b@example.net"}));
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "S: 250 ok",
      "C: RCPT TO:<a@example.net>",
      "S: 354 what",
      "C: RCPT TO:<b@example.net>",
      "S: 250 ok",
      "C: DATA",
      "S: 354 go",
      "-- body",
      "C: Hi.",
      "C: .",
      "S: 250 queued",
      "-- done",
  })));
  EXPECT_EQ(d.replies(), (Lines{"451 4.5.0 unexpected reply 354 what", "250 queued"}));
}

TEST(SmtpClientTransaction, SizeOverTheLimitIsRefusedBeforeSending) {
  ClientDialog d;
  d.begin(envelope({"a@x.test", "b@x.test"}, std::string(300, 'x') + "\r\n"), std::string(300, 'x') + "\r\n");
  ASSERT_TRUE(d.play(then(greeted({"SIZE 200"}), {"-- done", "-- idle"})));
  EXPECT_EQ(d.replies(), (Lines{"552 5.3.4 message size 302 exceeds the limit of mx.test:587 (200 bytes)",
                                "552 5.3.4 message size 302 exceeds the limit of mx.test:587 (200 bytes)"}));
  EXPECT_EQ(d.outcomes(), (std::vector<Outcome>{Outcome::Permanent, Outcome::Permanent}));
  EXPECT_EQ(d.result().error, "message size 302 exceeds the limit of mx.test:587 (200 bytes)");
  EXPECT_TRUE(d.protocol().reusable());
}

TEST(SmtpClientTransaction, SizeZeroMeansNoLimit) {
  ClientDialog d;
  d.begin(envelope({"a@x.test"}, std::string(300, 'x')), std::string(300, 'x'));
  ASSERT_TRUE(d.play(then(greeted({"SIZE 0"}), {"C: MAIL FROM:<alice@example.com> SIZE=302", "S: 250 ok"})));
}

TEST(SmtpClientTransaction, SmtpUtf8NotOfferedIsPermanent) {
  ClientDialog d;
  auto e = envelope({"bøb@example.net"});
  e.smtputf8 = true;
  d.begin(e);
  ASSERT_TRUE(d.play(then(greeted({"8BITMIME"}), {"-- done", "-- idle"})));
  EXPECT_EQ(d.replies(), (Lines{"550 5.6.7 upstream mx.test:587 does not support SMTPUTF8"}));
  EXPECT_EQ(d.result().error, "upstream mx.test:587 does not support SMTPUTF8");
}

TEST(SmtpClientTransaction, InvalidSenderIsRefusedBeforeSending) {
  ClientDialog d;
  auto e = envelope({"a@x.test", "b@x.test"});
  e.sender = "alice@example.com>\r\nRCPT TO:<victim@example.org";
  d.begin(e);
  ASSERT_TRUE(d.play(then(greeted(), {"-- done", "-- idle"})));
  EXPECT_EQ(d.replies(), (Lines{"553 5.1.7 invalid sender address", "553 5.1.7 invalid sender address"}));
  EXPECT_EQ(d.result().error, "invalid sender address");
}

TEST(SmtpClientTransaction, InvalidRecipientsAreRefusedAndTheOthersGo) {
  ClientDialog d;
  d.begin(envelope({"", "bob@example.net", "x<y>@example.net", std::string(300, 'a') + "@example.net"}));
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "S: 250 ok",
      "C: RCPT TO:<bob@example.net>",
      "S: 250 ok",
      "C: DATA",
      "S: 354 go",
      "-- body",
      "C: Hi.",
      "C: .",
      "S: 250 queued",
      "-- done",
  })));
  EXPECT_EQ(d.replies(), (Lines{"553 5.1.3 invalid recipient address", "250 queued",
                                "553 5.1.3 invalid recipient address", "553 5.1.3 invalid recipient address"}));
  EXPECT_EQ(d.result().error, "");
}

TEST(SmtpClientTransaction, NoValidRecipientSendsNothing) {
  ClientDialog d;
  d.begin(envelope({"a\r\nb@example.net"}));
  ASSERT_TRUE(d.play(then(greeted(), {"-- done", "-- idle"})));
  EXPECT_EQ(d.replies(), (Lines{"553 5.1.3 invalid recipient address"}));
  EXPECT_EQ(d.result().error, "");
}

TEST(SmtpClientTransaction, BodyIsDotStuffedAndGetsAFinalCrlf) {
  ClientDialog d;
  const std::string body = ".leading\r\n..two\r\n.\r\nno end";
  d.begin(envelope({"a@x.test"}, body), body);
  d.set_piece_size(3);
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "S: 250 ok",
      "C: RCPT TO:<a@x.test>",
      "S: 250 ok",
      "C: DATA",
      "S: 354 go",
      "-- body",
      "C: ..leading",
      "C: ...two",
      "C: ..",
      "C: no end",
      "C: .",
      "S: 250 queued",
      "-- done",
  })));
}

}  // namespace
