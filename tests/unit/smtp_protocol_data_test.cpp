// DATA: the envelope handed over, dot-unstuffing, the size and line limits, and bodies that
// try to smuggle a second message.
#include "tests/unit/smtp_protocol_dialog.hpp"

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

namespace {

using namespace smtp;
using namespace smtp_test;
using namespace std::string_literals;

TEST(SmtpProtocol, DataWithArgumentIs501) {
  Dialog dialog = with_recipient();
  EXPECT_EQ(dialog.feed("DATA now\r\n"), "501 5.5.4 Syntax: DATA\r\n");
}

TEST(SmtpProtocol, DataBeforeMailIs503) {
  Dialog dialog = authenticated();
  EXPECT_EQ(dialog.feed("DATA\r\n"), "503 5.5.1 Need MAIL command\r\n");
}

TEST(SmtpProtocol, DataBeforeRcptIs503) {
  Dialog dialog = in_transaction();
  EXPECT_EQ(dialog.feed("DATA\r\n"), "503 5.5.1 Need RCPT command\r\n");
}

TEST(SmtpProtocol, DataHandsOverTheWholeEnvelope) {
  Dialog dialog = authenticated();
  dialog.feed("MAIL FROM:<alice@example.org> BODY=8BITMIME SMTPUTF8\r\n");
  dialog.sender_checked(Outcome::accepted());
  dialog.feed("RCPT TO:<bob@example.net>\r\nRCPT TO:<carol@example.net>\r\n");
  EXPECT_EQ(dialog.feed("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_TRUE(dialog.needs_input());
  EXPECT_EQ(dialog.feed("Subject: hi\r\n\r\n..leading dot\r\nbye\r\n.\r\n"), "");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  const Envelope expected{"alice",
                          "alice@example.org",
                          {"bob@example.net", "carol@example.net"},
                          BodyType::EightBitMime,
                          true,
                          "client.example"};
  EXPECT_EQ(std::get<AcceptMessage>(dialog.stopped_at()).envelope, expected);
  EXPECT_EQ(dialog.message_content(), "Subject: hi\r\n\r\n.leading dot\r\nbye\r\n");
}

TEST(SmtpProtocol, MessageHandledSendsTheDriversReplyAndEndsTheTransaction) {
  Dialog dialog = in_data();
  dialog.feed("hello\r\n.\r\n");
  EXPECT_EQ(dialog.message_handled(Outcome::accepted(Reply::line(250, "2.0.0", "Ok: queued as 42"))), "250 2.0.0 Ok: queued as 42\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<bob@example.net>\r\n"), "503 5.5.1 Need MAIL command\r\n");
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  EXPECT_TRUE(dialog.awaits<CheckSender>());
}

TEST(SmtpProtocol, RefusedMessageEndsTheTransactionToo) {
  Dialog dialog = in_data();
  dialog.feed("spam\r\n.\r\n");
  EXPECT_EQ(dialog.message_handled(Outcome::refused(Reply::line(550, "5.7.1", "Rejected by filter"))), "550 5.7.1 Rejected by filter\r\n");
  EXPECT_EQ(dialog.feed("DATA\r\n"), "503 5.5.1 Need MAIL command\r\n");
}

TEST(SmtpProtocol, EmptyMessageIsJustTheDot) {
  Dialog dialog = in_data();
  dialog.feed(".\r\n");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  EXPECT_EQ(dialog.message_content(), "");
  EXPECT_TRUE(dialog.piece_sizes().empty());
}

TEST(SmtpProtocol, NextBeforeMessageHandledRepeatsTheEnvelopeWithoutBody) {
  Dialog dialog = in_data();
  dialog.feed("hello\r\n.\r\nQUIT\r\n");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  EXPECT_EQ(dialog.message_content(), "hello\r\n");
  EXPECT_EQ(dialog.again(), "");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  EXPECT_EQ(std::get<AcceptMessage>(dialog.stopped_at()).envelope.mail_from, "alice@example.org");
  EXPECT_EQ(dialog.message_content(), "");
  EXPECT_EQ(dialog.piece_sizes().size(), 1u);
  EXPECT_EQ(dialog.message_handled(Outcome::accepted(Reply::line(250, "2.0.0", "Ok"))), "250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n");
}

TEST(SmtpProtocol, CommandsInTheMessageAreNotCommands) {
  Dialog dialog = in_data();
  EXPECT_EQ(dialog.feed("QUIT\r\nRSET\r\n"), "");
  EXPECT_TRUE(dialog.needs_input());
  dialog.feed(".\r\n");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  EXPECT_EQ(dialog.message_content(), "QUIT\r\nRSET\r\n");
}

TEST(SmtpProtocol, BareLfInMessageIs550AndNothingIsQueued) {
  Dialog dialog = in_data();
  EXPECT_EQ(dialog.feed("line\nline\r\n.\r\n"), "550 5.6.0 Message contains bare CR, bare LF or NUL\r\n");
  EXPECT_TRUE(dialog.needs_input());
  EXPECT_EQ(dialog.feed("RCPT TO:<bob@example.net>\r\n"), "503 5.5.1 Need MAIL command\r\n");
}

TEST(SmtpProtocol, MessageLineOver1000OctetsIs500AfterTheEnd) {
  Dialog dialog = in_data();
  EXPECT_EQ(dialog.feed(std::string(999, 'x') + "\r\n"), "");
  EXPECT_EQ(dialog.feed(".\r\n"), "500 5.5.2 Line too long\r\n");
}

TEST(SmtpProtocol, StuffedLineOf998OctetsOfTextIsAccepted) {
  Dialog dialog = in_data();
  const std::string text = "." + std::string(997, 'x');
  EXPECT_EQ(dialog.feed("." + text + "\r\n.\r\n"), "");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  EXPECT_EQ(dialog.message_content(), text + "\r\n");
}

TEST(SmtpProtocol, MessageOverTheSizeLimitIs552AfterTheEnd) {
  ProtocolOptions options = implicit_tls();
  options.max_message_size = 10;
  Dialog dialog = in_data(options);
  EXPECT_EQ(dialog.feed("0123456789\r\n"), "");
  EXPECT_EQ(dialog.feed("more\r\n.\r\nNOOP\r\n"), "552 5.3.4 Message size exceeds fixed limit\r\n250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, MessageOfExactlyTheSizeLimitIsAccepted) {
  ProtocolOptions options = implicit_tls();
  options.max_message_size = 10;
  Dialog dialog = in_data(options);
  dialog.feed("01234567\r\n.\r\n");
  EXPECT_TRUE(dialog.awaits<AcceptMessage>());
}

// ---- Content in pieces ----

TEST(SmtpProtocol, LargeMessageArrivesWholeInBoundedPieces) {
  Dialog dialog = in_data();
  std::string wire;
  std::string content;
  for (int i = 0; content.size() < 3 * 1024 * 1024; ++i) {
    const std::string line = (i % 7 == 0 ? "." : "") + std::to_string(i) + std::string(i % 900, 'x') + "\r\n";
    wire += (line.front() == '.' ? "." : "") + line;  // dot-stuffed on the wire
    content += line;
  }
  wire += ".\r\n";
  constexpr std::size_t kReadSize = 16384;  // what the session driver reads at once
  for (std::size_t pos = 0; pos < wire.size(); pos += kReadSize) {
    EXPECT_EQ(dialog.feed(wire.substr(pos, kReadSize)), "");
    EXPECT_LE(dialog.protocol().buffered_bytes(), kReadSize);
  }
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  EXPECT_TRUE(dialog.message_content() == content);  // not EXPECT_EQ: no 3 MiB diff on failure
  EXPECT_GE(dialog.piece_sizes().size(), content.size() / kMessagePieceSize);
  for (const std::size_t size : dialog.piece_sizes()) EXPECT_LE(size, kMessagePieceSize);
}

TEST(SmtpProtocol, MessageOverTheSizeLimitAfterSomePiecesGetsNoAcceptMessage) {
  ProtocolOptions options = implicit_tls();
  options.max_message_size = 3 * kMessagePieceSize;
  Dialog dialog = in_data(options);
  const std::string line = std::string(998, 'x') + "\r\n";
  for (int i = 0; i < 300; ++i) EXPECT_EQ(dialog.feed(line), "");
  EXPECT_GE(dialog.piece_sizes().size(), 3u);  // handed over before the limit was crossed
  EXPECT_EQ(dialog.feed(".\r\n"), "552 5.3.4 Message size exceeds fixed limit\r\n");
  EXPECT_TRUE(dialog.needs_input());
  EXPECT_EQ(dialog.message_content(), "");
  EXPECT_EQ(dialog.refused_messages(), std::vector{MessageRefusal::TooLarge});
}

TEST(SmtpProtocol, BareLfAfterSomePiecesGetsNoAcceptMessage) {
  Dialog dialog = in_data();
  const std::string line = std::string(998, 'x') + "\r\n";
  for (int i = 0; i < 200; ++i) EXPECT_EQ(dialog.feed(line), "");
  const std::size_t pieces = dialog.piece_sizes().size();
  EXPECT_GE(pieces, 3u);
  EXPECT_EQ(dialog.feed("bare\nLF\r\n" + line + ".\r\n"), "550 5.6.0 Message contains bare CR, bare LF or NUL\r\n");
  EXPECT_LE(dialog.piece_sizes().size(), pieces + 1);  // at most the piece "bare" completed
  EXPECT_TRUE(dialog.needs_input());
  EXPECT_EQ(dialog.message_content(), "");
  EXPECT_EQ(dialog.feed("RCPT TO:<bob@example.net>\r\n"), "503 5.5.1 Need MAIL command\r\n");
}

class SmtpProtocolSmuggling : public testing::TestWithParam<std::string> {};

// A fake end of data followed by a second transaction must neither end the message nor
// queue anything: the whole thing is one refused message.
TEST_P(SmtpProtocolSmuggling, FakeEndOfDataNeverStartsASecondMessage) {
  Dialog dialog = in_data();
  const std::string smuggled = "MAIL FROM:<alice@example.org>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\nevil\r\n";
  EXPECT_EQ(dialog.feed("hello" + GetParam() + smuggled), "");
  EXPECT_TRUE(dialog.needs_input());
  EXPECT_EQ(dialog.feed(".\r\n"), "550 5.6.0 Message contains bare CR, bare LF or NUL\r\n");
  EXPECT_TRUE(dialog.needs_input());
}

INSTANTIATE_TEST_SUITE_P(SmtpVariants, SmtpProtocolSmuggling,
                         testing::Values("\n.\n"s, "\n.\r\n"s, "\r.\r"s, "\r\n.\n"s, "\r\n.\r"s, "\r.\r\n"s,
                                         "\n.\r"s, "\r\n.\0\r\n"s, "\r\n\0.\r\n"s));

// ---- What the driver is told ----

TEST(SmtpProtocol, NeedInputSaysWhenMessageDataIsAwaited) {
  Dialog dialog = with_recipient();
  ASSERT_TRUE(dialog.needs_input());
  EXPECT_FALSE(std::get<NeedInput>(dialog.stopped_at()).message_data);
  dialog.feed("DATA\r\n");
  ASSERT_TRUE(dialog.needs_input());
  EXPECT_TRUE(std::get<NeedInput>(dialog.stopped_at()).message_data);
  dialog.feed("Subject: hi\r\n");
  EXPECT_TRUE(std::get<NeedInput>(dialog.stopped_at()).message_data);
  dialog.feed(".\r\n");
  dialog.message_handled(Outcome::accepted());
  ASSERT_TRUE(dialog.needs_input());
  EXPECT_FALSE(std::get<NeedInput>(dialog.stopped_at()).message_data);
}

TEST(SmtpProtocol, MessageDataEndsWithAProtocolRefusalToo) {
  Dialog dialog = in_data();
  dialog.feed("bare\nLF\r\n.\r\n");
  ASSERT_TRUE(dialog.needs_input());
  EXPECT_FALSE(std::get<NeedInput>(dialog.stopped_at()).message_data);
}

TEST(SmtpProtocol, ProtocolRefusalsOfAMessageCarryTheirReason) {
  ProtocolOptions options = implicit_tls();
  options.max_message_size = 10;
  Dialog dialog = in_data(options);
  dialog.feed("0123456789more\r\n.\r\n");
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  dialog.sender_checked(Outcome::accepted());
  dialog.feed("RCPT TO:<bob@example.net>\r\nDATA\r\nbare\nLF\r\n.\r\n");
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  dialog.sender_checked(Outcome::accepted());
  dialog.feed("RCPT TO:<bob@example.net>\r\nDATA\r\n" + std::string(1001, 'x') + "\r\n.\r\n");
  EXPECT_EQ(dialog.refused_messages(),
            (std::vector{MessageRefusal::TooLarge, MessageRefusal::Malformed, MessageRefusal::Malformed}));
}

TEST(SmtpProtocol, OtherRefusalsAreNotMessageRefusals) {
  ProtocolOptions options = implicit_tls();
  options.max_message_size = 10;
  options.max_errors = 100;
  Dialog dialog = in_transaction(options);
  dialog.feed("BOGUS\r\nRCPT TO:<bob>\r\nDATA\r\nNOOP\n");
  EXPECT_EQ(dialog.feed("RSET\r\nMAIL FROM:<alice@example.org> SIZE=11\r\n"),
            "250 2.0.0 Ok\r\n552 5.3.4 Message size exceeds fixed limit\r\n");
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  dialog.sender_checked(Outcome::accepted());
  dialog.feed("RCPT TO:<bob@example.net>\r\nDATA\r\nok\r\n.\r\n");
  EXPECT_EQ(dialog.message_handled(Outcome::refused(Reply::line(550, "5.7.1", "Rejected by filter"))),
            "550 5.7.1 Rejected by filter\r\n");
  EXPECT_TRUE(dialog.refused_messages().empty());
}

}  // namespace
