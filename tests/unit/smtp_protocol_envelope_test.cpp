// MAIL and RCPT: preconditions, the sender check, address syntax, parameters and the
// recipient limit.
#include "tests/unit/smtp_protocol_dialog.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace {

using namespace smtp;
using namespace smtp_test;
using namespace std::string_literals;

// ---- MAIL ----

TEST(SmtpProtocol, MailBeforeEhloIs503) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("MAIL FROM:<alice@example.org>\r\n"), "503 5.5.1 Send EHLO first\r\n");
}

TEST(SmtpProtocol, MailBeforeAuthIs530) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("MAIL FROM:<alice@example.org>\r\n"), "530 5.7.0 Authentication required\r\n");
}

TEST(SmtpProtocol, MailAsksWhetherTheUserOwnsTheSender) {
  Dialog dialog = authenticated();
  EXPECT_EQ(dialog.feed("MAIL FROM:<alice@example.org>\r\n"), "");
  ASSERT_TRUE(dialog.awaits<CheckSender>());
  EXPECT_EQ(std::get<CheckSender>(dialog.stopped_at()), (CheckSender{"alice", "alice@example.org"}));
  EXPECT_EQ(dialog.sender_checked(Outcome::accepted()), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<bob@example.net>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST(SmtpProtocol, MailWithForeignSenderIs553) {
  Dialog dialog = authenticated();
  dialog.feed("MAIL FROM:<ceo@example.org>\r\n");
  EXPECT_EQ(dialog.sender_checked(Outcome::refused()), "553 5.7.1 Sender address rejected: not owned by user\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<bob@example.net>\r\n"), "503 5.5.1 Need MAIL command\r\n");
}

TEST(SmtpProtocol, MailWhenGrantsCannotBeReadIs451) {
  Dialog dialog = authenticated();
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  EXPECT_EQ(dialog.sender_checked(Outcome::temporary_failure()), "451 4.3.0 Temporary failure, try again later\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<bob@example.net>\r\n"), "503 5.5.1 Need MAIL command\r\n");
}

TEST(SmtpProtocol, NestedMailIs503) {
  Dialog dialog = in_transaction();
  EXPECT_EQ(dialog.feed("MAIL FROM:<alice@example.org>\r\n"), "503 5.5.1 Sender already specified\r\n");
}

TEST(SmtpProtocol, MailAfterHeloIsAllowedOnceAuthenticated) {
  Dialog dialog = authenticated();
  dialog.feed("HELO client.example\r\n");
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  EXPECT_TRUE(dialog.awaits<CheckSender>());
}

class SmtpProtocolMailSyntax : public testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(SmtpProtocolMailSyntax, MailArgumentGetsItsReply) {
  Dialog dialog = authenticated();
  const auto& [command, reply] = GetParam();
  EXPECT_EQ(dialog.feed(command + "\r\n"), reply) << command;
}

const std::string kMailSyntax = "501 5.5.4 Syntax: MAIL FROM:<address>\r\n";
const std::string kUnsupported = "555 5.5.4 Unsupported parameter\r\n";
const std::string kBadSender = "553 5.1.7 Bad sender address syntax\r\n";
const std::string kNeedsUtf8 = "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n";
const std::string kTooBig = "552 5.3.4 Message size exceeds fixed limit\r\n";

INSTANTIATE_TEST_SUITE_P(
    SmtpRefusals, SmtpProtocolMailSyntax,
    testing::Values(std::pair{"MAIL FROM:alice@example.org"s, kMailSyntax},
                    std::pair{"MAIL FROM:<alice@example.org"s, kMailSyntax},
                    std::pair{"MAIL FROM:"s, kMailSyntax},
                    std::pair{"MAIL"s, kMailSyntax}, std::pair{"MAIL TO:<alice@example.org>"s, kMailSyntax},
                    std::pair{"MAIL FROM:  <alice@example.org>"s, kMailSyntax},
                    std::pair{"MAIL FROM:<alice@example.org>SIZE=1"s, kMailSyntax},
                    std::pair{"MAIL FROM:<>"s, "553 5.7.1 Null sender not allowed on submission\r\n"s},
                    std::pair{"MAIL FROM:<alice>"s, kBadSender}, std::pair{"MAIL FROM:<alice@>"s, kBadSender},
                    std::pair{"MAIL FROM:<@example.org>"s, kBadSender},
                    std::pair{"MAIL FROM:<al ice@example.org>"s, kBadSender},
                    std::pair{"MAIL FROM:<al\tice@example.org>"s, kBadSender},
                    std::pair{"MAIL FROM:<alice@exa_mple.org>"s, kBadSender},
                    std::pair{"MAIL FROM:<alice..x@example.org>"s, kBadSender},
                    std::pair{"MAIL FROM:<@relay:>"s, kBadSender},
                    std::pair{"MAIL FROM:<@:alice@example.org>"s, kBadSender},
                    std::pair{"MAIL FROM:<" + std::string(243, 'a') + "@example.org>", kBadSender},
                    std::pair{"MAIL FROM:<j\xC3\xBCrgen@example.org>"s, kNeedsUtf8},
                    std::pair{"MAIL FROM:<alice@b\xC3\xBC" "cher.example>"s, kNeedsUtf8},
                    std::pair{"MAIL FROM:<j\xC3rgen@example.org> SMTPUTF8"s, kBadSender},
                    std::pair{"MAIL FROM:<alice@example.org> SIZE=26214401"s, kTooBig},
                    std::pair{"MAIL FROM:<alice@example.org> SIZE=99999999999999999999999"s, kTooBig},
                    std::pair{"MAIL FROM:<alice@example.org> SIZE=12k"s, kUnsupported},
                    std::pair{"MAIL FROM:<alice@example.org> SIZE="s, kUnsupported},
                    std::pair{"MAIL FROM:<alice@example.org> SIZE"s, kUnsupported},
                    std::pair{"MAIL FROM:<alice@example.org> SIZE=1 SIZE=2"s, kUnsupported},
                    std::pair{"MAIL FROM:<alice@example.org> BODY=BINARYMIME"s, kUnsupported},
                    std::pair{"MAIL FROM:<alice@example.org> SMTPUTF8=yes"s, kUnsupported},
                    std::pair{"MAIL FROM:<alice@example.org> AUTH="s, kUnsupported},
                    std::pair{"MAIL FROM:<alice@example.org> RET=HDRS"s, kUnsupported},
                    std::pair{"MAIL FROM:<> BOGUS=1"s, kUnsupported}));

class SmtpProtocolMailAccepted : public testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(SmtpProtocolMailAccepted, MailArgumentNamesThisSender) {
  Dialog dialog = authenticated();
  const auto& [command, sender] = GetParam();
  EXPECT_EQ(dialog.feed(command + "\r\n"), "") << command;
  ASSERT_TRUE(dialog.awaits<CheckSender>()) << command;
  EXPECT_EQ(std::get<CheckSender>(dialog.stopped_at()).address, sender);
}

INSTANTIATE_TEST_SUITE_P(
    SmtpForms, SmtpProtocolMailAccepted,
    testing::Values(std::pair{"MAIL FROM:<alice@example.org>"s, "alice@example.org"s},
                    std::pair{"mail from:<alice@example.org>"s, "alice@example.org"s},
                    std::pair{"MAIL FROM: <alice@example.org>"s, "alice@example.org"s},
                    std::pair{"MAIL FROM:<Alice.Smith+tag@Example.ORG>"s, "Alice.Smith+tag@Example.ORG"s},
                    std::pair{"MAIL FROM:<\"a>b\"@example.org>"s, "\"a>b\"@example.org"s},
                    std::pair{"MAIL FROM:<alice@[192.0.2.1]>"s, "alice@[192.0.2.1]"s},
                    std::pair{"MAIL FROM:<@relay.example,@b.example:alice@example.org>"s, "alice@example.org"s},
                    std::pair{"MAIL FROM:<j\xC3\xBCrgen@example.org> SMTPUTF8"s, "j\xC3\xBCrgen@example.org"s},
                    std::pair{"MAIL FROM:<alice@example.org> SIZE=26214400"s, "alice@example.org"s},
                    std::pair{"MAIL FROM:<alice@example.org> size=10 body=8bitmime smtputf8"s, "alice@example.org"s},
                    std::pair{"MAIL FROM:<alice@example.org> BODY=7BIT"s, "alice@example.org"s},
                    std::pair{"MAIL FROM:<alice@example.org> AUTH=<>"s, "alice@example.org"s},
                    std::pair{"MAIL FROM:<alice@example.org> AUTH=alice+40example.org"s, "alice@example.org"s},
                    std::pair{"MAIL FROM:<" + std::string(242, 'a') + "@example.org>",
                              std::string(242, 'a') + "@example.org"}));

// ---- RCPT ----

TEST(SmtpProtocol, RcptBeforeMailIs503) {
  Dialog fresh;
  EXPECT_EQ(fresh.feed("RCPT TO:<bob@example.net>\r\n"), "503 5.5.1 Need MAIL command\r\n");
  Dialog dialog = authenticated();
  EXPECT_EQ(dialog.feed("RCPT TO:<bob@example.net>\r\n"), "503 5.5.1 Need MAIL command\r\n");
}

TEST(SmtpProtocol, RcptSyntaxErrorIs501) {
  Dialog dialog = in_transaction();
  EXPECT_EQ(dialog.feed("RCPT TO:bob@example.net\r\n"), "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
  EXPECT_EQ(dialog.feed("RCPT FROM:<bob@example.net>\r\n"), "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
  EXPECT_EQ(dialog.feed("RCPT\r\n"), "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
}

TEST(SmtpProtocol, RcptWithParameterIs555) {
  Dialog dialog = in_transaction();
  EXPECT_EQ(dialog.feed("RCPT TO:<bob@example.net> NOTIFY=NEVER\r\n"), "555 5.5.4 Unsupported parameter\r\n");
}

TEST(SmtpProtocol, RcptWithBadAddressIs553) {
  Dialog dialog = in_transaction();
  EXPECT_EQ(dialog.feed("RCPT TO:<>\r\n"), "553 5.1.3 Bad recipient address syntax\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<bob>\r\n"), "553 5.1.3 Bad recipient address syntax\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<bob@@example.net>\r\n"), "553 5.1.3 Bad recipient address syntax\r\n");
}

TEST(SmtpProtocol, RcptNonAsciiWithoutSmtpUtf8Is553) {
  Dialog dialog = in_transaction();
  EXPECT_EQ(dialog.feed("RCPT TO:<j\xC3\xBCrgen@example.net>\r\n"), "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n");
}

TEST(SmtpProtocol, RcptNonAsciiWithSmtpUtf8Is250) {
  Dialog dialog = authenticated();
  dialog.feed("MAIL FROM:<alice@example.org> SMTPUTF8\r\n");
  dialog.sender_checked(Outcome::accepted());
  EXPECT_EQ(dialog.feed("RCPT TO:<j\xC3\xBCrgen@example.net>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST(SmtpProtocol, RcptPostmasterWithoutDomainIsAccepted) {
  Dialog dialog = in_transaction();
  EXPECT_EQ(dialog.feed("RCPT TO:<Postmaster>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST(SmtpProtocol, RcptSourceRouteIsDropped) {
  Dialog dialog = in_transaction();
  EXPECT_EQ(dialog.feed("rcpt to: <@hop.example:bob@example.net>\r\nDATA\r\n.\r\n"),
            "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  EXPECT_EQ(std::get<AcceptMessage>(dialog.stopped_at()).envelope.recipients, std::vector<std::string>{"bob@example.net"});
}

TEST(SmtpProtocol, RecipientsBeyondTheLimitAre452) {
  ProtocolOptions options = implicit_tls();
  options.max_recipients = 2;
  Dialog dialog = in_transaction(options);
  EXPECT_EQ(dialog.feed("RCPT TO:<a@example.net>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\n"),
            "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n452 4.5.3 Too many recipients\r\n");
}

}  // namespace
