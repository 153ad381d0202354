// The SMTP client across transactions and failures, one dialog per edge case: a second message
// on the same session, stale sessions, quitting, I/O failures at each step and their texts,
// multi-line, split and malformed replies.
#include "tests/unit/smtp_client_dialog.hpp"

namespace {

using namespace smtp_client_test;
using smtp_client::Outcome;

// A session that carried one message and waits for the next.
ClientDialog reused_session() {
  ClientDialog d;
  d.begin(envelope());
  EXPECT_TRUE(d.play(then(greeted(), kOneMessage)));
  return d;
}

TEST(SmtpClientSession, SecondTransactionOnTheSameSession) {
  ClientDialog d = reused_session();
  ASSERT_TRUE(d.play(then({"-- begin"}, kOneMessage)));
  EXPECT_EQ(d.replies(), (Lines{"250 2.0.0 Ok: queued"}));
  EXPECT_EQ(d.protocol().transactions(), 2u);
  EXPECT_FALSE(d.result().stale);
}

TEST(SmtpClientSession, ReusedSessionClosedAtMailIsStale) {
  ClientDialog d = reused_session();
  ASSERT_TRUE(d.play({
      "-- begin",
      "C: MAIL FROM:<alice@example.com>",
      "-- closed",
      "-- done",
      "-- hang up",
  }));
  EXPECT_TRUE(d.result().stale);
  EXPECT_EQ(d.result().error, "mx.test:587 closed the connection while waiting for a reply");
}

TEST(SmtpClientSession, ReusedSessionResetWhileWritingMailIsStale) {
  ClientDialog d = reused_session();
  ASSERT_TRUE(d.play({
      "-- begin",
      "-- reset",
      "-- done",
      "-- hang up",
  }));
  EXPECT_TRUE(d.result().stale);
  EXPECT_EQ(d.result().error,
            "connection to mx.test:587 failed while sending a command: Connection reset by peer");
}

TEST(SmtpClientSession, ReusedSessionWith421AtMailIsStale) {
  ClientDialog d = reused_session();
  ASSERT_TRUE(d.play({
      "-- begin",
      "C: MAIL FROM:<alice@example.com>",
      "S: 421 4.4.2 idle timeout",
      "-- done",
      "-- hang up",
  }));
  EXPECT_TRUE(d.result().stale);
  EXPECT_EQ(d.replies(), (Lines{"421 4.4.2 idle timeout"}));
}

TEST(SmtpClientSession, ReusedSessionTimingOutAtMailIsNotStale) {
  // The upstream may be slow rather than gone: it could still take the message.
  ClientDialog d = reused_session();
  ASSERT_TRUE(d.play({
      "-- begin",
      "C: MAIL FROM:<alice@example.com>",
      "-- timeout",
      "-- done",
      "-- hang up",
  }));
  EXPECT_FALSE(d.result().stale);
  EXPECT_EQ(d.result().error, "timed out waiting for a reply (mx.test:587)");
}

TEST(SmtpClientSession, ReusedSessionClosedAfterMailWasAcceptedIsNotStale) {
  ClientDialog d = reused_session();
  ASSERT_TRUE(d.play({
      "-- begin",
      "C: MAIL FROM:<alice@example.com>",
      "S: 250 ok",
      "C: RCPT TO:<bob@example.net>",
      "-- closed",
      "-- done",
      "-- hang up",
  }));
  EXPECT_FALSE(d.result().stale);
}

TEST(SmtpClientSession, FirstTransactionClosedAtMailIsNotStale) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "-- closed",
      "-- done",
      "-- hang up",
  })));
  EXPECT_FALSE(d.result().stale);
}

TEST(SmtpClientSession, ReusedSessionSpeakingGarbageAtMailIsStale) {
  ClientDialog d = reused_session();
  ASSERT_TRUE(d.play({
      "-- begin",
      "C: MAIL FROM:<alice@example.com>",
      "S: HTTP/1.1 400 Bad Request",
      "-- done",
      "-- hang up",
  }));
  EXPECT_TRUE(d.result().stale);
  EXPECT_EQ(d.result().error, "protocol error from mx.test:587: malformed reply line \"HTTP/1.1 400 Bad Request\"");
  EXPECT_EQ(d.replies()[0],
            "451 4.5.0 protocol error from mx.test:587: malformed reply line \"HTTP/1.1 400 Bad Request\"");
}

TEST(SmtpClientSession, QuitOnAHealthySessionSaysGoodbye) {
  ClientDialog d = reused_session();
  ASSERT_TRUE(d.play({
      "-- quit",
      "C: QUIT",
      "S: 221 2.0.0 bye",
      "-- close",
      "-- close",
  }));
}

TEST(SmtpClientSession, QuitWhenTheServerIsGoneHangsUp) {
  ClientDialog d = reused_session();
  ASSERT_TRUE(d.play({
      "-- quit",
      "C: QUIT",
      "-- closed",
      "-- hang up",
  }));
}

TEST(SmtpClientSession, QuitOnABrokenSessionHangsUpAtOnce) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "-- timeout",
      "-- done",
      "-- quit",
      "-- hang up",
  })));
}

TEST(SmtpClientSession, QuitBeforeConnectingHangsUp) {
  ClientDialog d;
  ASSERT_TRUE(d.play({
      "-- idle",
      "-- quit",
      "-- hang up",
  }));
}

TEST(SmtpClientSession, BeginWhileBusyFailsAtOnce) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play({"-- connect"}));
  d.protocol().begin(envelope({"a@x.test", "b@x.test"}));
  auto step = d.protocol().next();
  auto* done = std::get_if<smtp_client::TransactionDone>(&step);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->result.recipients.size(), 2u);
  EXPECT_EQ(done->result.recipients[0].reply.code, 451);
}

TEST(SmtpClientSession, TimeoutWaitingForTheEndOfDataReply) {
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
      "-- timeout",
      "-- done",
      "-- hang up",
  })));
  EXPECT_EQ(d.result().error,
            "timed out waiting for the reply to the message data (mx.test:587) (after the whole message was sent)");
  EXPECT_EQ(d.outcomes(), (std::vector<Outcome>{Outcome::Temporary}));
}

TEST(SmtpClientSession, ClosedWhileSendingTheBody) {
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
      "S: 354 go",
      "-- body",
      "-- closed",
      "-- done",
      "-- hang up",
  })));
  EXPECT_EQ(d.result().error, "mx.test:587 closed the connection while sending the message data");
  EXPECT_EQ(d.replies(), (Lines{"451 4.4.2 mx.test:587 closed the connection while sending the message data",
                                "550 5.1.1 no x"}));
}

TEST(SmtpClientSession, FailedResetKeepsTheOutcomeButEndsTheSession) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "S: 250 ok",
      "C: RCPT TO:<bob@example.net>",
      "S: 550 5.1.1 no",
      "C: RSET",
      "S: 500 what",
      "-- done",
      "-- hang up",
  })));
  EXPECT_EQ(d.replies(), (Lines{"550 5.1.1 no"}));
  EXPECT_EQ(d.result().error, "");
}

TEST(SmtpClientSession, ResetTimingOutKeepsTheOutcome) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "S: 550 5.7.1 no",
      "C: RSET",
      "-- timeout",
      "-- done",
      "-- hang up",
  })));
  EXPECT_EQ(d.result().error, "mx.test:587 MAIL FROM refused: 550 5.7.1 no");
}

TEST(SmtpClientSession, MultiLineRepliesAreOneReply) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play(then(greeted(), {
      "C: MAIL FROM:<alice@example.com>",
      "S: 250 ok",
      "C: RCPT TO:<bob@example.net>",
      "S: 550-5.1.1 The account does not exist.",
      "S: 550-5.1.1 Please check.",
      "S: 550 5.1.1 https://support.example/",
      "C: RSET",
      "S: 250 ok",
      "-- done",
  })));
  EXPECT_EQ(d.replies(), (Lines{"550 5.1.1 The account does not exist.; Please check.; https://support.example/"}));
  EXPECT_EQ(d.result().recipients[0].reply.lines.size(), 3u);
}

TEST(SmtpClientSession, MalformedGreetingHangsUp) {
  ClientDialog d;
  d.begin(envelope());
  ASSERT_TRUE(d.play({
      "-- connect",
      "S: 250-mx",
      "S: 220 mixed codes",
      "-- done",
      "-- hang up",
  }));
  EXPECT_EQ(d.result().error,
            "protocol error from mx.test:587: reply code changed within a multi-line reply (250 then 220)");
}

TEST(SmtpClientSession, RepliesSplitAcrossReadsKeepOneReplyNumber) {
  smtp_client::Protocol protocol{plain_options()};
  protocol.begin(envelope());
  EXPECT_TRUE(std::holds_alternative<smtp_client::Connect>(protocol.next()));
  protocol.connected();
  auto first = std::get<smtp_client::ReadReply>(protocol.next());
  protocol.receive("220-mx.test ESMTP\r\n22");
  EXPECT_EQ(std::get<smtp_client::ReadReply>(protocol.next()).reply_number, first.reply_number);
  protocol.receive("0 ready\r\n");
  EXPECT_EQ(std::get<smtp_client::SendCommands>(protocol.next()).bytes, "EHLO relay.test\r\n");
  auto second = std::get<smtp_client::ReadReply>(protocol.next());
  EXPECT_NE(second.reply_number, first.reply_number);
  EXPECT_FALSE(second.end_of_data);
}

TEST(SmtpClientSession, EveryByteInItsOwnRead) {
  const std::string server =
      "220 mx.test\r\n250-mx.test\r\n250 PIPELINING\r\n250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n";
  smtp_client::Protocol protocol{plain_options()};
  protocol.begin(envelope());
  std::size_t fed = 0;
  std::string written;
  for (int i = 0; i < 1000; ++i) {
    smtp_client::Step step = protocol.next();
    if (std::holds_alternative<smtp_client::Connect>(step)) {
      protocol.connected();
    } else if (auto* send = std::get_if<smtp_client::SendCommands>(&step)) {
      written += send->bytes;
    } else if (std::holds_alternative<smtp_client::ReadReply>(step)) {
      protocol.receive(server.substr(fed++, 1));
    } else if (std::holds_alternative<smtp_client::SendBody>(step)) {
      written += protocol.body_piece(kBody);
      written += protocol.body_end();
    } else if (auto* done = std::get_if<smtp_client::TransactionDone>(&step)) {
      EXPECT_EQ(done->result.recipients[0].reply.one_line(), "250 queued");
      EXPECT_EQ(fed, server.size());
      EXPECT_EQ(written,
                "EHLO relay.test\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n"
                "Hi.\r\n.\r\n");
      return;
    }
  }
  FAIL() << "no TransactionDone";
}

}  // namespace
