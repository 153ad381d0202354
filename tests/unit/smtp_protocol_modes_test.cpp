// The services other than submission: Inbound (a port-25 listener for the domains Postern
// serves: no AUTH, any sender, every recipient asked of the driver) and LMTP (RFC 2033: the
// same behind LHLO, and one reply per accepted recipient after the message). Submission's own
// behaviour is what the other smtp_protocol_*_test.cpp files check.
#include "tests/unit/smtp_protocol_dialog.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace {

using namespace smtp;
using namespace smtp_test;
using Service = ProtocolOptions::Service;

const std::string kLmtpGreeting = "220 mx.example.org LMTP Postern\r\n";

// The extensions without STARTTLS and AUTH, after the first line of an EHLO or LHLO reply.
const std::string kExtensions =
    "250-PIPELINING\r\n"
    "250-SIZE 26214400\r\n"
    "250-8BITMIME\r\n"
    "250-SMTPUTF8\r\n";

ProtocolOptions with_service(Service service, ProtocolOptions options = implicit_tls()) {
  options.service = service;
  return options;
}

ProtocolOptions inbound(ProtocolOptions options = implicit_tls()) {
  return with_service(Service::Inbound, std::move(options));
}

ProtocolOptions lmtp(ProtocolOptions options = implicit_tls()) {
  return with_service(Service::Lmtp, std::move(options));
}

// Greeted with the service's own greeting verb.
Dialog greeted(const ProtocolOptions& options) {
  Dialog dialog(options);
  dialog.feed(options.service == Service::Lmtp ? "LHLO client.example\r\n" : "EHLO client.example\r\n");
  return dialog;
}

// ... with MAIL FROM:<sender@example.com> started.
Dialog sending(const ProtocolOptions& options) {
  Dialog dialog = greeted(options);
  dialog.feed("MAIL FROM:<sender@example.com>\r\n");
  return dialog;
}

// ... and every one of `recipients` accepted by the driver.
Dialog with_recipients(const ProtocolOptions& options, const std::vector<std::string>& recipients) {
  Dialog dialog = sending(options);
  for (const std::string& recipient : recipients) {
    dialog.feed("RCPT TO:<" + recipient + ">\r\n");
    dialog.recipient_checked(Outcome::accepted());
  }
  return dialog;
}

// ... and in DATA.
Dialog in_data_with(const ProtocolOptions& options, const std::vector<std::string>& recipients) {
  Dialog dialog = with_recipients(options, recipients);
  dialog.feed("DATA\r\n");
  return dialog;
}

// `reply` once per recipient, as LMTP answers the end of a message.
std::string times(std::size_t count, const std::string& reply) {
  std::string replies;
  for (std::size_t i = 0; i < count; ++i) replies += reply;
  return replies;
}

// ---- Submission stays as it was ----

TEST(SmtpProtocolModes, SubmissionIsTheDefault) {
  EXPECT_EQ(ProtocolOptions{}.service, Service::Submission);
  Dialog dialog;
  EXPECT_EQ(dialog.greeting(), kGreeting);
}

TEST(SmtpProtocolModes, SubmissionDoesNotKnowLhlo) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("LHLO client.example\r\n"), "500 5.5.1 Command unrecognized\r\n");
  EXPECT_EQ(dialog.feed("MAIL FROM:<alice@example.org>\r\n"), "503 5.5.1 Send EHLO first\r\n");
}

TEST(SmtpProtocolModes, SubmissionAnswersAMessageOnceWhateverItsRecipients) {
  Dialog dialog = authenticated();
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  dialog.sender_checked(Outcome::accepted());
  dialog.feed("RCPT TO:<bob@example.net>\r\nRCPT TO:<carol@example.net>\r\nDATA\r\n");
  EXPECT_EQ(dialog.feed("hello\r\n.\r\n"), "");
  EXPECT_EQ(dialog.message_handled(Outcome::accepted()), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocolModes, SubmissionRefusesTooLargeMessageWithOneReply) {
  ProtocolOptions options = implicit_tls();
  options.max_message_size = 10;
  Dialog dialog = authenticated(options);
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  dialog.sender_checked(Outcome::accepted());
  dialog.feed("RCPT TO:<bob@example.net>\r\nRCPT TO:<carol@example.net>\r\nDATA\r\n");
  EXPECT_EQ(dialog.feed("0123456789abc\r\n.\r\n"), "552 5.3.4 Message size exceeds fixed limit\r\n");
}

// ---- Inbound: greeting, EHLO, HELO ----

TEST(SmtpProtocolModes, InboundGreetsLikeSubmission) {
  Dialog dialog(inbound());
  EXPECT_EQ(dialog.greeting(), kGreeting);
}

TEST(SmtpProtocolModes, InboundEhloNeverOffersAuth) {
  ProtocolOptions options = implicit_tls();
  options.auth_without_tls = true;
  Dialog dialog(inbound(options));
  EXPECT_EQ(dialog.feed("EHLO client.example\r\n"),
            "250-mx.example.org Hello client.example\r\n" + kExtensions + "250 ENHANCEDSTATUSCODES\r\n");
}

TEST(SmtpProtocolModes, InboundEhloOffersStartTlsWhenAvailable) {
  ProtocolOptions options = plaintext_with_starttls();
  options.auth_without_tls = true;
  Dialog dialog(inbound(options));
  EXPECT_EQ(dialog.feed("EHLO client.example\r\n"), "250-mx.example.org Hello client.example\r\n" + kExtensions +
                                                        "250-ENHANCEDSTATUSCODES\r\n"
                                                        "250 STARTTLS\r\n");
  EXPECT_EQ(dialog.feed("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  ASSERT_TRUE(dialog.awaits<StartTls>());
  EXPECT_EQ(dialog.tls_handshake(), "");
  EXPECT_EQ(dialog.feed("MAIL FROM:<sender@example.com>\r\n"), "503 5.5.1 Send EHLO first\r\n");
  EXPECT_EQ(dialog.feed("EHLO client.example\r\n"),
            "250-mx.example.org Hello client.example\r\n" + kExtensions + "250 ENHANCEDSTATUSCODES\r\n");
  EXPECT_EQ(dialog.feed("MAIL FROM:<sender@example.com>\r\n"), "250 2.1.0 Ok\r\n");
}

TEST(SmtpProtocolModes, InboundHeloWorks) {
  Dialog dialog(inbound());
  EXPECT_EQ(dialog.feed("HELO client.example\r\n"), "250 mx.example.org\r\n");
  EXPECT_EQ(dialog.feed("MAIL FROM:<sender@example.com>\r\n"), "250 2.1.0 Ok\r\n");
}

TEST(SmtpProtocolModes, InboundDoesNotKnowLhlo) {
  Dialog dialog(inbound());
  EXPECT_EQ(dialog.feed("LHLO client.example\r\n"), "500 5.5.1 Command unrecognized\r\n");
}

// ---- Inbound: AUTH and MAIL ----

TEST(SmtpProtocolModes, InboundAuthIsNotEnabled) {
  ProtocolOptions options = implicit_tls();
  options.auth_without_tls = true;
  Dialog dialog(inbound(options));
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n"), "503 5.5.1 Authentication not enabled\r\n");
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n"), "503 5.5.1 Authentication not enabled\r\n");
  EXPECT_EQ(dialog.feed("AUTH LOGIN\r\n"), "503 5.5.1 Authentication not enabled\r\n");
  EXPECT_TRUE(dialog.needs_input());
  EXPECT_EQ(dialog.protocol().authenticated_user(), "");
  // The refused AUTH's data is not taken for a SASL response: the next line is a command.
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocolModes, InboundMailNeedsEhloFirst) {
  Dialog dialog(inbound());
  EXPECT_EQ(dialog.feed("MAIL FROM:<sender@example.com>\r\n"), "503 5.5.1 Send EHLO first\r\n");
}

TEST(SmtpProtocolModes, InboundMailStartsTheTransactionWithoutAuthOrSenderCheck) {
  Dialog dialog = greeted(inbound());
  EXPECT_EQ(dialog.feed("MAIL FROM:<sender@example.com>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_TRUE(dialog.needs_input());
  EXPECT_EQ(dialog.feed("MAIL FROM:<sender@example.com>\r\n"), "503 5.5.1 Sender already specified\r\n");
}

TEST(SmtpProtocolModes, InboundAcceptsTheNullSender) {
  Dialog dialog = greeted(inbound());
  EXPECT_EQ(dialog.feed("MAIL FROM:<> BODY=8BITMIME SIZE=100\r\n"), "250 2.1.0 Ok\r\n");
  dialog.feed("RCPT TO:<trap@example.org>\r\n");
  dialog.recipient_checked(Outcome::accepted());
  dialog.feed("DATA\r\nbounce\r\n.\r\n");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  const Envelope& envelope = std::get<AcceptMessage>(dialog.stopped_at()).envelope;
  EXPECT_EQ(envelope.mail_from, "");
  EXPECT_EQ(envelope.body_type, BodyType::EightBitMime);
}

TEST(SmtpProtocolModes, InboundStillChecksTheSenderSyntaxAndParameters) {
  ProtocolOptions options = inbound();
  options.max_message_size = 1000;
  options.max_errors = 10;
  Dialog dialog = greeted(options);
  EXPECT_EQ(dialog.feed("MAIL FROM:sender@example.com\r\n"), "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
  EXPECT_EQ(dialog.feed("MAIL FROM:<not an address>\r\n"), "553 5.1.7 Bad sender address syntax\r\n");
  EXPECT_EQ(dialog.feed("MAIL FROM:<@:>\r\n"), "553 5.1.7 Bad sender address syntax\r\n");
  EXPECT_EQ(dialog.feed("MAIL FROM:<> SIZE=1001\r\n"), "552 5.3.4 Message size exceeds fixed limit\r\n");
  EXPECT_EQ(dialog.feed("MAIL FROM:<> RET=HDRS\r\n"), "555 5.5.4 Unsupported parameter\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<trap@example.org>\r\n"), "503 5.5.1 Need MAIL command\r\n");
}

// ---- Inbound: RCPT and the message ----

TEST(SmtpProtocolModes, InboundAsksAboutEveryRecipientWithoutUser) {
  ProtocolOptions options = inbound();
  ASSERT_FALSE(options.check_recipients);
  Dialog dialog = sending(options);
  EXPECT_EQ(dialog.feed("RCPT TO:<Trap@Example.ORG>\r\n"), "");
  ASSERT_TRUE(dialog.awaits<CheckRecipient>());
  EXPECT_EQ(std::get<CheckRecipient>(dialog.stopped_at()), (CheckRecipient{"", "Trap@Example.ORG"}));
  EXPECT_EQ(dialog.recipient_checked(Outcome::accepted()), "250 2.1.5 Ok\r\n");
}

TEST(SmtpProtocolModes, InboundRefusedRecipientGetsTheDriversReply) {
  Dialog dialog = sending(inbound());
  dialog.feed("RCPT TO:<someone@elsewhere.example>\r\n");
  EXPECT_EQ(dialog.recipient_checked(Outcome::refused(Reply::line(554, "5.7.1", "Relay access denied"))),
            "554 5.7.1 Relay access denied\r\n");
  EXPECT_EQ(dialog.feed("DATA\r\n"), "503 5.5.1 Need RCPT command\r\n");
}

TEST(SmtpProtocolModes, InboundChecksRecipientSyntaxAndLimitBeforeAsking) {
  ProtocolOptions options = inbound();
  options.max_recipients = 1;
  Dialog dialog = sending(options);
  EXPECT_EQ(dialog.feed("RCPT TO:<not an address>\r\n"), "553 5.1.3 Bad recipient address syntax\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<trap@example.org> NOTIFY=NEVER\r\n"), "555 5.5.4 Unsupported parameter\r\n");
  EXPECT_TRUE(dialog.needs_input());
  dialog.feed("RCPT TO:<trap@example.org>\r\n");
  EXPECT_EQ(dialog.recipient_checked(Outcome::accepted()), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<other@example.org>\r\n"), "452 4.5.3 Too many recipients\r\n");
  EXPECT_TRUE(dialog.needs_input());
}

TEST(SmtpProtocolModes, InboundHandsOverTheEnvelopeWithoutUser) {
  Dialog dialog = with_recipients(inbound(), {"trap@example.org", "other@example.org"});
  EXPECT_EQ(dialog.feed("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(dialog.feed("Subject: hi\r\n\r\nhello\r\n.\r\n"), "");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  const Envelope expected{"",
                          "sender@example.com",
                          {"trap@example.org", "other@example.org"},
                          BodyType::SevenBit,
                          false,
                          "client.example"};
  EXPECT_EQ(std::get<AcceptMessage>(dialog.stopped_at()).envelope, expected);
  EXPECT_EQ(dialog.message_content(), "Subject: hi\r\n\r\nhello\r\n");
  // One reply for the message, as in SMTP.
  EXPECT_EQ(dialog.message_handled(Outcome::accepted(Reply::line(250, "2.0.0", "Ok: queued as 7"))),
            "250 2.0.0 Ok: queued as 7\r\n");
}

TEST(SmtpProtocolModes, InboundRefusesSmuggledMessagesLikeSubmission) {
  Dialog dialog = in_data_with(inbound(), {"trap@example.org", "other@example.org"});
  EXPECT_EQ(dialog.feed("line\nline\r\n.\r\n"), "550 5.6.0 Message contains bare CR, bare LF or NUL\r\n");
  EXPECT_EQ(dialog.refused_messages(), (std::vector<MessageRefusal>{MessageRefusal::Malformed}));
}

TEST(SmtpProtocolModes, InboundPipelinedTransaction) {
  Dialog dialog(inbound());
  EXPECT_EQ(dialog.feed("EHLO client.example\r\n"
                        "MAIL FROM:<>\r\n"
                        "RCPT TO:<trap@example.org>\r\n"
                        "DATA\r\n"
                        "hello\r\n.\r\n"
                        "QUIT\r\n"),
            "250-mx.example.org Hello client.example\r\n" + kExtensions + "250 ENHANCEDSTATUSCODES\r\n" +
                "250 2.1.0 Ok\r\n");
  ASSERT_TRUE(dialog.awaits<CheckRecipient>());
  EXPECT_EQ(dialog.recipient_checked(Outcome::accepted()), "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  EXPECT_EQ(dialog.message_handled(Outcome::accepted()), "250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n");
  EXPECT_TRUE(dialog.closed());
}

// ---- LMTP: greeting and LHLO ----

TEST(SmtpProtocolModes, LmtpGreetsAsLmtp) {
  Dialog dialog(lmtp());
  EXPECT_EQ(dialog.greeting(), kLmtpGreeting);
  EXPECT_TRUE(dialog.needs_input());
}

TEST(SmtpProtocolModes, LmtpLhloListsTheExtensionsWithoutAuth) {
  ProtocolOptions options = implicit_tls();
  options.tls_available = true;
  options.auth_without_tls = true;
  Dialog dialog(lmtp(options));
  EXPECT_EQ(dialog.feed("LHLO client.example\r\n"),
            "250-mx.example.org Hello client.example\r\n" + kExtensions + "250 ENHANCEDSTATUSCODES\r\n");
}

TEST(SmtpProtocolModes, LmtpLhloOffersStartTlsWhenAvailable) {
  Dialog dialog(lmtp(plaintext_with_starttls()));
  EXPECT_EQ(dialog.feed("LHLO client.example\r\n"), "250-mx.example.org Hello client.example\r\n" + kExtensions +
                                                        "250-ENHANCEDSTATUSCODES\r\n"
                                                        "250 STARTTLS\r\n");
}

TEST(SmtpProtocolModes, LmtpLhloChecksItsArgument) {
  Dialog dialog(lmtp());
  EXPECT_EQ(dialog.feed("LHLO\r\n"), "501 5.5.4 Syntax: LHLO hostname\r\n");
  EXPECT_EQ(dialog.feed("LHLO bad\x01name\r\n"), "501 5.5.4 Syntax: LHLO hostname\r\n");
  EXPECT_EQ(dialog.feed("lhlo client.example\r\n"),
            "250-mx.example.org Hello client.example\r\n" + kExtensions + "250 ENHANCEDSTATUSCODES\r\n");
}

TEST(SmtpProtocolModes, LmtpRefusesEhloAndHelo) {
  Dialog dialog(lmtp());
  EXPECT_EQ(dialog.feed("EHLO client.example\r\n"), "500 5.5.1 Command unrecognized\r\n");
  EXPECT_EQ(dialog.feed("HELO client.example\r\n"), "500 5.5.1 Command unrecognized\r\n");
  EXPECT_EQ(dialog.feed("MAIL FROM:<sender@example.com>\r\n"), "503 5.5.1 Send LHLO first\r\n");
}

TEST(SmtpProtocolModes, LmtpLhloEndsTheTransaction) {
  Dialog dialog = with_recipients(lmtp(), {"trap@example.org"});
  dialog.feed("LHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("DATA\r\n"), "503 5.5.1 Need MAIL command\r\n");
}

TEST(SmtpProtocolModes, LmtpStartTls) {
  Dialog dialog = greeted(lmtp(plaintext_with_starttls()));
  EXPECT_EQ(dialog.feed("STARTTLS\r\nLHLO injected.example\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  ASSERT_TRUE(dialog.awaits<StartTls>());
  EXPECT_EQ(dialog.tls_handshake(), "");  // what came before the handshake is forgotten
  EXPECT_TRUE(dialog.protocol().tls_active());
  EXPECT_EQ(dialog.feed("MAIL FROM:<sender@example.com>\r\n"), "503 5.5.1 Send LHLO first\r\n");
  EXPECT_EQ(dialog.feed("LHLO client.example\r\n"),
            "250-mx.example.org Hello client.example\r\n" + kExtensions + "250 ENHANCEDSTATUSCODES\r\n");
  EXPECT_EQ(dialog.feed("STARTTLS\r\n"), "503 5.5.1 TLS already active\r\n");
  EXPECT_EQ(dialog.feed("MAIL FROM:<sender@example.com>\r\n"), "250 2.1.0 Ok\r\n");
}

// ---- LMTP: AUTH, MAIL, RCPT ----

TEST(SmtpProtocolModes, LmtpAuthIsNotEnabled) {
  Dialog dialog = greeted(lmtp());
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n"), "503 5.5.1 Authentication not enabled\r\n");
}

TEST(SmtpProtocolModes, LmtpMailWithoutAuthAndNullSender) {
  Dialog dialog = greeted(lmtp());
  EXPECT_EQ(dialog.feed("MAIL FROM:<>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_TRUE(dialog.needs_input());
}

TEST(SmtpProtocolModes, LmtpAsksAboutEveryRecipient) {
  Dialog dialog = sending(lmtp());
  dialog.feed("RCPT TO:<nobody@example.org>\r\n");
  ASSERT_TRUE(dialog.awaits<CheckRecipient>());
  EXPECT_EQ(std::get<CheckRecipient>(dialog.stopped_at()), (CheckRecipient{"", "nobody@example.org"}));
  EXPECT_EQ(dialog.recipient_checked(Outcome::refused(Reply::line(550, "5.1.1", "No such user here"))),
            "550 5.1.1 No such user here\r\n");
  EXPECT_EQ(dialog.feed("DATA\r\n"), "503 5.5.1 Need RCPT command\r\n");
}

TEST(SmtpProtocolModes, LmtpHandsOverTheEnvelopeWithoutUser) {
  Dialog dialog = in_data_with(lmtp(), {"a@example.org", "b@example.org"});
  dialog.feed("MAIL FROM:<x@y>\r\n.\r\n");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  const Envelope expected{"",
                          "sender@example.com",
                          {"a@example.org", "b@example.org"},
                          BodyType::SevenBit,
                          false,
                          "client.example"};
  EXPECT_EQ(std::get<AcceptMessage>(dialog.stopped_at()).envelope, expected);
  EXPECT_EQ(dialog.message_content(), "MAIL FROM:<x@y>\r\n");
}

// ---- LMTP: one reply per recipient after the message ----

TEST(SmtpProtocolModes, LmtpAcceptedMessageIsAnsweredPerRecipient) {
  Dialog dialog = in_data_with(lmtp(), {"a@example.org", "b@example.org"});
  EXPECT_EQ(dialog.feed("hello\r\n.\r\n"), "");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  EXPECT_EQ(dialog.message_handled(Outcome::accepted(Reply::line(250, "2.0.0", "Ok: queued as 42"))),
            times(2, "250 2.0.0 Ok: queued as 42\r\n"));
  EXPECT_TRUE(dialog.needs_input());
  EXPECT_EQ(dialog.feed("RCPT TO:<a@example.org>\r\n"), "503 5.5.1 Need MAIL command\r\n");
}

TEST(SmtpProtocolModes, LmtpOutcomesAreAnsweredPerRecipient) {
  const std::pair<Outcome, std::string> cases[] = {
      {Outcome::accepted(), "250 2.0.0 Ok\r\n"},
      {Outcome::temporary_failure(), "451 4.3.0 Temporary failure, try again later\r\n"},
      {Outcome::temporary_failure(Reply::line(452, "4.3.1", "Insufficient system storage")),
       "452 4.3.1 Insufficient system storage\r\n"},
      {Outcome::refused(), "550 5.7.1 Message refused\r\n"},
      {Outcome::refused(Reply::line(554, "5.7.1", "Rejected by filter")), "554 5.7.1 Rejected by filter\r\n"},
  };
  for (const auto& [outcome, reply] : cases) {
    Dialog dialog = in_data_with(lmtp(), {"a@example.org", "b@example.org", "c@example.org"});
    dialog.feed("hello\r\n.\r\n");
    EXPECT_EQ(dialog.message_handled(outcome), times(3, reply)) << reply;
    EXPECT_TRUE(dialog.needs_input());
  }
}

TEST(SmtpProtocolModes, LmtpRefusedRecipientGetsNoReplyAfterTheMessage) {
  Dialog dialog = sending(lmtp());
  dialog.feed("RCPT TO:<a@example.org>\r\n");
  dialog.recipient_checked(Outcome::accepted());
  dialog.feed("RCPT TO:<nobody@example.org>\r\n");
  EXPECT_EQ(dialog.recipient_checked(Outcome::refused(Reply::line(550, "5.1.1", "No such user here"))),
            "550 5.1.1 No such user here\r\n");
  dialog.feed("RCPT TO:<c@example.org>\r\n");
  dialog.recipient_checked(Outcome::accepted());
  dialog.feed("DATA\r\nhello\r\n.\r\n");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  EXPECT_EQ(std::get<AcceptMessage>(dialog.stopped_at()).envelope.recipients,
            (std::vector<std::string>{"a@example.org", "c@example.org"}));
  EXPECT_EQ(dialog.message_handled(Outcome::temporary_failure()),
            times(2, "451 4.3.0 Temporary failure, try again later\r\n"));
}

TEST(SmtpProtocolModes, LmtpRefusedMessageCountsAsOneError) {
  ProtocolOptions options = lmtp();
  options.max_errors = 3;
  Dialog dialog = in_data_with(options, {"a@example.org", "b@example.org", "c@example.org"});
  dialog.feed("spam\r\n.\r\n");
  EXPECT_EQ(dialog.message_handled(Outcome::refused()), times(3, "550 5.7.1 Message refused\r\n"));
  EXPECT_EQ(dialog.feed("BOGUS\r\n"), "500 5.5.1 Command unrecognized\r\n");
  EXPECT_EQ(dialog.feed("BOGUS\r\n"), "500 5.5.1 Command unrecognized\r\n421 4.7.0 Too many errors\r\n");
  EXPECT_TRUE(dialog.closed());
}

TEST(SmtpProtocolModes, LmtpTooManyErrorsComesAfterEveryRecipientsReply) {
  ProtocolOptions options = lmtp();
  options.max_errors = 1;
  Dialog dialog = in_data_with(options, {"a@example.org", "b@example.org"});
  dialog.feed("spam\r\n.\r\n");
  EXPECT_EQ(dialog.message_handled(Outcome::refused()),
            times(2, "550 5.7.1 Message refused\r\n") + "421 4.7.0 Too many errors\r\n");
  EXPECT_TRUE(dialog.closed());
}

TEST(SmtpProtocolModes, LmtpTooManyFailuresIs421PerRecipientAndClose) {
  Dialog dialog = in_data_with(lmtp(), {"a@example.org", "b@example.org"});
  dialog.feed("hello\r\n.\r\nNOOP\r\n");
  EXPECT_EQ(dialog.message_handled(Outcome::too_many_failures()), times(2, "421 4.7.0 Too many failures\r\n"));
  EXPECT_TRUE(dialog.closed());
}

TEST(SmtpProtocolModes, LmtpTooLargeMessageIsRefusedPerRecipientAndCountedOnce) {
  ProtocolOptions options = lmtp();
  options.max_message_size = 10;
  options.max_errors = 2;
  Dialog dialog = in_data_with(options, {"a@example.org", "b@example.org", "c@example.org"});
  EXPECT_EQ(dialog.feed("0123456789abc\r\n.\r\n"), times(3, "552 5.3.4 Message size exceeds fixed limit\r\n"));
  EXPECT_EQ(dialog.refused_messages(), (std::vector<MessageRefusal>{MessageRefusal::TooLarge}));
  EXPECT_TRUE(dialog.needs_input());
  EXPECT_EQ(dialog.feed("BOGUS\r\n"), "500 5.5.1 Command unrecognized\r\n421 4.7.0 Too many errors\r\n");
}

TEST(SmtpProtocolModes, LmtpBareLfMessageIsRefusedPerRecipient) {
  Dialog dialog = in_data_with(lmtp(), {"a@example.org", "b@example.org"});
  EXPECT_EQ(dialog.feed("line\nline\r\n.\r\nNOOP\r\n"),
            times(2, "550 5.6.0 Message contains bare CR, bare LF or NUL\r\n") + "250 2.0.0 Ok\r\n");
  EXPECT_EQ(dialog.refused_messages(), (std::vector<MessageRefusal>{MessageRefusal::Malformed}));
  EXPECT_EQ(dialog.message_content(), "");
}

TEST(SmtpProtocolModes, LmtpLongLineMessageIsRefusedPerRecipient) {
  Dialog dialog = in_data_with(lmtp(), {"a@example.org", "b@example.org", "c@example.org"});
  EXPECT_EQ(dialog.feed(std::string(999, 'x') + "\r\n.\r\n"), times(3, "500 5.5.2 Line too long\r\n"));
  EXPECT_EQ(dialog.refused_messages(), (std::vector<MessageRefusal>{MessageRefusal::Malformed}));
}

// Only the first of the replies refusing a message says so, for the driver to count it once.
TEST(SmtpProtocolModes, LmtpOnlyTheFirstRefusalReplyCarriesTheRefusal) {
  ProtocolOptions options = lmtp();
  options.max_message_size = 4;
  Protocol protocol(options);
  protocol.receive(
      "LHLO client.example\r\nMAIL FROM:<>\r\nRCPT TO:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n"
      "DATA\r\ntoo large\r\n.\r\n");
  std::vector<SendReply> after_data;
  bool data_started = false;
  for (;;) {
    Step step = protocol.next();
    if (std::holds_alternative<CheckRecipient>(step)) {
      protocol.recipient_checked(Outcome::accepted());
    } else if (const auto* send = std::get_if<SendReply>(&step)) {
      if (data_started) after_data.push_back(*send);
      data_started = data_started || send->reply.code == 354;
    } else if (std::holds_alternative<NeedInput>(step) || std::holds_alternative<Close>(step)) {
      break;
    }
  }
  const Reply too_large = Reply::line(552, "5.3.4", "Message size exceeds fixed limit");
  EXPECT_EQ(after_data, (std::vector<SendReply>{{too_large, MessageRefusal::TooLarge}, {too_large, std::nullopt}}));
}

TEST(SmtpProtocolModes, LmtpDataWithoutAcceptedRecipientIs503) {
  Dialog dialog = sending(lmtp());
  dialog.feed("RCPT TO:<nobody@example.org>\r\n");
  dialog.recipient_checked(Outcome::refused());
  EXPECT_EQ(dialog.feed("DATA\r\n"), "503 5.5.1 Need RCPT command\r\n");
}

TEST(SmtpProtocolModes, LmtpPipelinedTransactionInOneReceive) {
  Dialog dialog(lmtp());
  EXPECT_EQ(dialog.feed("LHLO client.example\r\n"
                        "MAIL FROM:<sender@example.com>\r\n"
                        "RCPT TO:<a@example.org>\r\n"
                        "RCPT TO:<nobody@example.org>\r\n"
                        "RCPT TO:<c@example.org>\r\n"
                        "DATA\r\n"
                        "Subject: hi\r\n\r\n..dots\r\n.\r\n"
                        "MAIL FROM:<>\r\n"
                        "QUIT\r\n"),
            "250-mx.example.org Hello client.example\r\n" + kExtensions + "250 ENHANCEDSTATUSCODES\r\n" +
                "250 2.1.0 Ok\r\n");
  ASSERT_TRUE(dialog.awaits<CheckRecipient>());
  EXPECT_EQ(dialog.recipient_checked(Outcome::accepted()), "250 2.1.5 Ok\r\n");
  ASSERT_TRUE(dialog.awaits<CheckRecipient>());
  EXPECT_EQ(dialog.recipient_checked(Outcome::refused(Reply::line(550, "5.1.1", "No such user here"))),
            "550 5.1.1 No such user here\r\n");
  ASSERT_TRUE(dialog.awaits<CheckRecipient>());
  EXPECT_EQ(dialog.recipient_checked(Outcome::accepted()),
            "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  EXPECT_EQ(dialog.message_content(), "Subject: hi\r\n\r\n.dots\r\n");
  EXPECT_EQ(dialog.message_handled(Outcome::accepted(Reply::line(250, "2.0.0", "Ok: queued as 9"))),
            times(2, "250 2.0.0 Ok: queued as 9\r\n") + "250 2.1.0 Ok\r\n221 2.0.0 Bye\r\n");
  EXPECT_TRUE(dialog.closed());
}

}  // namespace
