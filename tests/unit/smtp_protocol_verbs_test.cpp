// The simple verbs (NOOP, RSET, QUIT, VRFY, HELP, EXPN) in every state, and unknown commands.
#include "tests/unit/smtp_protocol_dialog.hpp"

#include <gtest/gtest.h>

#include <variant>

namespace {

using namespace smtp;
using namespace smtp_test;

TEST(SmtpProtocol, NoopIs250InEveryState) {
  Dialog fresh;
  EXPECT_EQ(fresh.feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
  Dialog busy = with_recipient();
  EXPECT_EQ(busy.feed("NOOP whatever\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, RsetIs250AndEndsTheTransactionButKeepsTheUser) {
  Dialog dialog = with_recipient();
  EXPECT_EQ(dialog.feed("RSET\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<bob@example.net>\r\n"), "503 5.5.1 Need MAIL command\r\n");
  EXPECT_EQ(dialog.protocol().authenticated_user(), "alice");
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  EXPECT_TRUE(dialog.awaits<CheckSender>());
}

TEST(SmtpProtocol, RsetBeforeEhloIs250) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("RSET\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, QuitIs221ThenClose) {
  Dialog dialog = with_recipient();
  EXPECT_EQ(dialog.feed("QUIT\r\n"), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(dialog.closed());
}

TEST(SmtpProtocol, CommandsPipelinedAfterQuitAreIgnored) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("QUIT\r\nNOOP\r\n"), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(dialog.closed());
}

TEST(SmtpProtocol, AfterCloseNextKeepsReturningCloseAndInputIsIgnored) {
  Dialog dialog;
  dialog.feed("QUIT\r\n");
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "");
  EXPECT_TRUE(dialog.closed());
  EXPECT_EQ(dialog.protocol().buffered_bytes(), 0u);
  EXPECT_TRUE(std::holds_alternative<Close>(dialog.protocol().next()));
}

TEST(SmtpProtocol, VrfyIs252AndDisclosesNothing) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("VRFY alice\r\n"),
            "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n");
  Dialog busy = with_recipient();
  EXPECT_EQ(busy.feed("VRFY <nobody@example.org>\r\n"),
            "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n");
}

TEST(SmtpProtocol, HelpIs214) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("HELP\r\n"), "214 2.0.0 See RFC 5321\r\n");
  EXPECT_EQ(dialog.feed("HELP MAIL\r\n"), "214 2.0.0 See RFC 5321\r\n");
}

TEST(SmtpProtocol, ExpnIs502) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("EXPN staff\r\n"), "502 5.5.1 Command not implemented\r\n");
}

TEST(SmtpProtocol, UnknownCommandIs500) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("BDAT 10 LAST\r\n"), "500 5.5.1 Command unrecognized\r\n");
  EXPECT_EQ(dialog.feed("\r\n"), "500 5.5.1 Command unrecognized\r\n");
  EXPECT_EQ(dialog.feed("GET\r\n"), "500 5.5.1 Command unrecognized\r\n");
}

TEST(SmtpProtocol, NonProductiveCommandsPastTheLimitEndTheSessionWith421) {
  ProtocolOptions options = implicit_tls();
  options.max_idle_commands = 4;
  Dialog dialog = authenticated(options);
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(dialog.feed("RSET\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(dialog.feed("HELP\r\n"), "214 2.0.0 See RFC 5321\r\n");
  EXPECT_EQ(dialog.feed("VRFY x\r\n"),
            "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n");
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "421 4.7.0 Too many commands without mail\r\n");
  EXPECT_TRUE(dialog.closed());
}

TEST(SmtpProtocol, RefusedRecipientsCountAsNonProductive) {
  ProtocolOptions options = implicit_tls();
  options.max_idle_commands = 2;
  options.max_errors = 100;
  Dialog dialog = in_transaction(options);
  EXPECT_EQ(dialog.feed("RCPT TO:<bad address>\r\n"), "553 5.1.3 Bad recipient address syntax\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<bad address>\r\n"), "553 5.1.3 Bad recipient address syntax\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<bad address>\r\n"), "421 4.7.0 Too many commands without mail\r\n");
  EXPECT_TRUE(dialog.closed());
}

TEST(SmtpProtocol, AnAcceptedMessageStartsTheCountOfNonProductiveCommandsAgain) {
  ProtocolOptions options = implicit_tls();
  options.max_idle_commands = 1;
  Dialog dialog = in_data(options);
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "");  // message data, not a command
  dialog.feed("\r\n.\r\n");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  dialog.message_handled(Outcome::accepted(Reply::line(250, "2.0.0", "Ok: queued")));
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "421 4.7.0 Too many commands without mail\r\n");
}

}  // namespace
