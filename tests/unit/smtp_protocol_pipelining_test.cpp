// Pipelining (RFC 2920) and input splits: replies come in order, commands wait behind an
// unanswered step, and however the input is cut the session is the same.
#include "tests/unit/smtp_protocol_dialog.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace {

using namespace smtp;
using namespace smtp_test;

// Everything a driver sees of a session fed in `pieces`, answering every asynchronous step
// with success; for checking that how the input is split changes nothing.
std::string transcript(const std::vector<std::string>& pieces, ProtocolOptions options = implicit_tls()) {
  Protocol protocol(std::move(options));
  std::string out;
  std::string content;  // the MessageData pieces of the message being read
  const auto drain = [&] {
    for (;;) {
      Step step = protocol.next();
      if (auto* send = std::get_if<SendReply>(&step)) {
        out += send->reply.wire();
        if (send->refused_message) content.clear();
      } else if (auto* data = std::get_if<MessageData>(&step)) {
        content += data->piece;
      } else if (std::holds_alternative<NeedInput>(step)) {
        return true;
      } else if (auto* verify = std::get_if<VerifyCredentials>(&step)) {
        out += "[verify " + verify->user + "]\n";
        protocol.credentials_checked(Outcome::accepted());
      } else if (auto* check = std::get_if<CheckSender>(&step)) {
        out += "[sender " + check->address + "]\n";
        protocol.sender_checked(Outcome::accepted());
      } else if (std::holds_alternative<AcceptMessage>(step)) {
        out += "[message " + std::exchange(content, {}) + "]\n";
        protocol.message_handled(Outcome::accepted(Reply::line(250, "2.0.0", "Ok: queued")));
      } else {
        out += "[close]\n";
        return false;
      }
    }
  };
  drain();
  for (const std::string& piece : pieces) {
    protocol.receive(piece);
    if (!drain()) break;
  }
  return out;
}

const std::string kSession =
    "EHLO client.example\r\n"
    "AUTH PLAIN " + kPlainAlice + "\r\n"
    "MAIL FROM:<alice@example.org> BODY=8BITMIME SIZE=100\r\n"
    "RCPT TO:<bob@example.net>\r\n"
    "RCPT TO:<carol@example.net>\r\n"
    "DATA\r\n"
    "Subject: hi\r\n\r\n..dots\r\nbody\r\n.\r\n"
    "NOOP\r\n"
    "BOGUS\r\n"
    "QUIT\r\n";

TEST(SmtpProtocol, CommandsPipelinedAfterAuthWaitForTheVerdict) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\nMAIL FROM:<alice@example.org>\r\n"), "");
  ASSERT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(dialog.again(), "");
  EXPECT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(dialog.credentials_checked(Outcome::accepted()), "235 2.7.0 Authentication successful\r\n");
  ASSERT_TRUE(dialog.awaits<CheckSender>());
  EXPECT_EQ(std::get<CheckSender>(dialog.stopped_at()), (CheckSender{"alice", "alice@example.org"}));
}

TEST(SmtpProtocol, PipelinedSessionGetsItsRepliesInOrder) {
  EXPECT_EQ(transcript({kSession}),
            kGreeting +
                "250-mx.example.org Hello client.example\r\n250-PIPELINING\r\n250-SIZE 26214400\r\n"
                "250-8BITMIME\r\n250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250 AUTH PLAIN LOGIN\r\n"
                "[verify alice]\n"
                "235 2.7.0 Authentication successful\r\n"
                "[sender alice@example.org]\n"
                "250 2.1.0 Ok\r\n"
                "250 2.1.5 Ok\r\n"
                "250 2.1.5 Ok\r\n"
                "354 End data with <CR><LF>.<CR><LF>\r\n"
                "[message Subject: hi\r\n\r\n.dots\r\nbody\r\n]\n"
                "250 2.0.0 Ok: queued\r\n"
                "250 2.0.0 Ok\r\n"
                "500 5.5.1 Command unrecognized\r\n"
                "221 2.0.0 Bye\r\n"
                "[close]\n");
}

TEST(SmtpProtocol, ByteByByteInputGivesTheSameSession) {
  std::vector<std::string> bytes;
  for (const char c : kSession) bytes.emplace_back(1, c);
  EXPECT_EQ(transcript(bytes), transcript({kSession}));
}

TEST(SmtpProtocol, RandomlySplitInputGivesTheSameSession) {
  const std::string session = kSession + "";
  const std::string whole = transcript({session});
  std::mt19937 random(5321);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> pieces;
    for (std::size_t pos = 0; pos < session.size();) {
      const std::size_t length = std::uniform_int_distribution<std::size_t>(1, 40)(random);
      pieces.push_back(session.substr(pos, length));
      pos += length;
    }
    ASSERT_EQ(transcript(pieces), whole) << "round " << round;
  }
}

TEST(SmtpProtocol, SmugglingAttemptSplitAnywhereIsRefusedTheSameWay) {
  const std::string session =
      "EHLO client.example\r\nAUTH PLAIN " + kPlainAlice +
      "\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n"
      "hello\n.\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\nevil\r\n.\r\nQUIT\r\n";
  const std::string whole = transcript({session});
  EXPECT_EQ(whole.find("[message"), std::string::npos);
  EXPECT_NE(whole.find("550 5.6.0"), std::string::npos);
  for (std::size_t cut = 1; cut < session.size(); ++cut) {
    ASSERT_EQ(transcript({session.substr(0, cut), session.substr(cut)}), whole) << "cut at " << cut;
  }
}

}  // namespace
