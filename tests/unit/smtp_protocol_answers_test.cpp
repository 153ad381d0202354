// The asynchronous answers: an Outcome for VerifyCredentials, CheckSender, CheckRecipient and
// AcceptMessage, the usual reply for each verdict, a service's own reply, and answers nothing
// waits for.
#include "tests/unit/smtp_protocol_dialog.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace {

using namespace smtp;
using namespace smtp_test;

TEST(SmtpProtocol, AnswerWithoutPendingStepIsIgnored) {
  Dialog dialog;
  EXPECT_EQ(dialog.credentials_checked(Outcome::accepted()), "");
  EXPECT_EQ(dialog.sender_checked(Outcome::accepted()), "");
  EXPECT_EQ(dialog.recipient_checked(Outcome::accepted()), "");
  EXPECT_EQ(dialog.message_handled(Outcome::accepted(Reply::line(250, "2.0.0", "Ok"))), "");
  EXPECT_EQ(dialog.tls_handshake(), "");
  EXPECT_EQ(dialog.protocol().authenticated_user(), "");
  EXPECT_TRUE(dialog.needs_input());
}

TEST(SmtpProtocol, CredentialsOutcomeWithoutReplyGetsTheUsualReply) {
  const std::pair<Outcome, std::string> cases[] = {
      {Outcome::accepted(), "235 2.7.0 Authentication successful\r\n"},
      {Outcome::refused(), "535 5.7.8 Authentication credentials invalid\r\n"},
      {Outcome::temporary_failure(), "454 4.7.0 Temporary authentication failure\r\n"},
      {Outcome::too_many_failures(), "421 4.7.0 Too many authentication failures\r\n"},
  };
  for (const auto& [outcome, reply] : cases) {
    Dialog dialog;
    dialog.feed("EHLO client.example\r\nAUTH PLAIN " + kPlainAlice + "\r\n");
    EXPECT_EQ(dialog.credentials_checked(outcome), reply);
  }
}

TEST(SmtpProtocol, SenderOutcomeWithoutReplyGetsTheUsualReply) {
  const std::pair<Outcome, std::string> cases[] = {
      {Outcome::accepted(), "250 2.1.0 Ok\r\n"},
      {Outcome::refused(), "553 5.7.1 Sender address rejected: not owned by user\r\n"},
      {Outcome::temporary_failure(), "451 4.3.0 Temporary failure, try again later\r\n"},
      {Outcome::too_many_failures(), "421 4.7.0 Too many failures\r\n"},
  };
  for (const auto& [outcome, reply] : cases) {
    Dialog dialog = authenticated();
    dialog.feed("MAIL FROM:<alice@example.org>\r\n");
    EXPECT_EQ(dialog.sender_checked(outcome), reply);
  }
}

smtp::ProtocolOptions checking_recipients() {
  smtp::ProtocolOptions options = implicit_tls();
  options.check_recipients = true;
  return options;
}

TEST(SmtpProtocol, RecipientsAreCheckedOnlyWhenAsked) {
  Dialog plain = in_transaction();
  EXPECT_EQ(plain.feed("RCPT TO:<bob@example.net>\r\n"), "250 2.1.5 Ok\r\n");
  Dialog checked = in_transaction(checking_recipients());
  EXPECT_EQ(checked.feed("RCPT TO:<Bob@Example.NET>\r\n"), "");
  ASSERT_TRUE(checked.awaits<CheckRecipient>());
  EXPECT_EQ(std::get<CheckRecipient>(checked.stopped_at()), (CheckRecipient{"alice", "Bob@Example.NET"}));
}

TEST(SmtpProtocol, RecipientOutcomeWithoutReplyGetsTheUsualReply) {
  const std::pair<Outcome, std::string> cases[] = {
      {Outcome::accepted(), "250 2.1.5 Ok\r\n"},
      {Outcome::refused(), "550 5.1.1 Recipient address rejected\r\n"},
      {Outcome::temporary_failure(), "451 4.3.0 Temporary failure, try again later\r\n"},
      {Outcome::too_many_failures(), "421 4.7.0 Too many failures\r\n"},
  };
  for (const auto& [outcome, reply] : cases) {
    Dialog dialog = in_transaction(checking_recipients());
    dialog.feed("RCPT TO:<bob@example.net>\r\n");
    EXPECT_EQ(dialog.recipient_checked(outcome), reply);
  }
}

TEST(SmtpProtocol, OnlyAcceptedRecipientsJoinTheEnvelope) {
  Dialog dialog = in_transaction(checking_recipients());
  dialog.feed("RCPT TO:<shared@proxy.example>\r\n");
  EXPECT_EQ(dialog.recipient_checked(Outcome::temporary_failure(
                Reply::line(451, "4.3.5", "Recipient's share map is not usable: fewer than two destinations"))),
            "451 4.3.5 Recipient's share map is not usable: fewer than two destinations\r\n");
  dialog.feed("RCPT TO:<bob@example.net>\r\n");
  EXPECT_EQ(dialog.recipient_checked(Outcome::accepted()), "250 2.1.5 Ok\r\n");
  dialog.feed("DATA\r\n");
  dialog.feed("Subject: x\r\n\r\nHi\r\n.\r\n");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  EXPECT_EQ(std::get<AcceptMessage>(dialog.stopped_at()).envelope.recipients,
            (std::vector<std::string>{"bob@example.net"}));
}

TEST(SmtpProtocol, RefusedRecipientChecksCountAsNonProductiveCommands) {
  smtp::ProtocolOptions options = checking_recipients();
  options.max_idle_commands = 2;
  Dialog dialog = in_transaction(options);
  for (int i = 0; i < 2; ++i) {
    dialog.feed("RCPT TO:<shared@proxy.example>\r\n");
    EXPECT_EQ(dialog.recipient_checked(Outcome::temporary_failure()), "451 4.3.0 Temporary failure, try again later\r\n");
  }
  dialog.feed("RCPT TO:<shared@proxy.example>\r\n");
  EXPECT_EQ(dialog.recipient_checked(Outcome::temporary_failure()).substr(0, 4), "421 ");
}

TEST(SmtpProtocol, MessageOutcomeWithoutReplyGetsTheUsualReply) {
  const std::pair<Outcome, std::string> cases[] = {
      {Outcome::accepted(), "250 2.0.0 Ok\r\n"},
      {Outcome::refused(), "550 5.7.1 Message refused\r\n"},
      {Outcome::temporary_failure(), "451 4.3.0 Temporary failure, try again later\r\n"},
      {Outcome::too_many_failures(), "421 4.7.0 Too many failures\r\n"},
  };
  for (const auto& [outcome, reply] : cases) {
    Dialog dialog = in_data();
    dialog.feed("hello\r\n.\r\n");
    EXPECT_EQ(dialog.message_handled(outcome), reply);
  }
}

TEST(SmtpProtocol, ServicesOwnReplyReplacesTheUsualOne) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\nAUTH PLAIN " + kPlainAlice + "\r\n");
  EXPECT_EQ(dialog.credentials_checked(Outcome::refused(Reply::line(535, "5.7.8", "Try again"))),
            "535 5.7.8 Try again\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n");
  dialog.credentials_checked(Outcome::accepted());
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  EXPECT_EQ(dialog.sender_checked(Outcome::temporary_failure(Reply::line(451, "4.3.0", "Grants unavailable"))),
            "451 4.3.0 Grants unavailable\r\n");
}

TEST(SmtpProtocol, TheVerdictNotTheReplyDecidesTheState) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\nAUTH PLAIN " + kPlainAlice + "\r\n");
  dialog.credentials_checked(Outcome::accepted(Reply::line(235, "2.7.0", "Welcome")));
  EXPECT_EQ(dialog.protocol().authenticated_user(), "alice");
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  EXPECT_EQ(dialog.sender_checked(Outcome::refused(Reply::line(553, "5.7.1", "Not yours"))),
            "553 5.7.1 Not yours\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<bob@example.net>\r\n"), "503 5.5.1 Need MAIL command\r\n");
}

TEST(SmtpProtocol, TooManyFailuresEndsTheSessionWhateverTheStep) {
  Dialog sender = authenticated();
  sender.feed("MAIL FROM:<alice@example.org>\r\nNOOP\r\n");
  sender.sender_checked(Outcome::too_many_failures());
  EXPECT_TRUE(sender.closed());
  Dialog message = in_data();
  message.feed("hello\r\n.\r\nNOOP\r\n");
  message.message_handled(Outcome::too_many_failures());
  EXPECT_TRUE(message.closed());
}

TEST(SmtpProtocol, UnsetOutcomeIsATemporaryFailure) {
  EXPECT_EQ(Outcome{}, Outcome::temporary_failure());
}

}  // namespace
