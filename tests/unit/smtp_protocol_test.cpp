// The SMTP session, reply by reply: every command in every state (not greeted, greeted,
// authenticated, in a transaction, in DATA, after STARTTLS). A Dialog drives the Protocol the
// way the network driver does and returns the replies as the client would read them.
#include "server/smtp/protocol.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace smtp;
using namespace std::string_literals;

const std::string kGreeting = "220 mx.example.org ESMTP Postern\r\n";
const std::string kPlainAlice = "AGFsaWNlAHNlY3JldA==";  // "\0alice\0secret"

ProtocolOptions implicit_tls() {
  ProtocolOptions options;
  options.hostname = "mx.example.org";
  options.tls_active = true;
  return options;
}

ProtocolOptions plaintext_with_starttls() {
  ProtocolOptions options = implicit_tls();
  options.tls_active = false;
  options.tls_available = true;
  return options;
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t bits = 0;
    for (std::size_t k = 0; k < 3; ++k) bits = (bits << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0);
    for (std::size_t k = 0; k < 4; ++k) out += k <= n ? kAlphabet[(bits >> (18 - 6 * k)) & 0x3F] : '=';
  }
  return out;
}

// Drives one Protocol: each call returns the wire text of the replies up to the step where
// the driver would stop (NeedInput, an asynchronous step, or Close), which stopped_at() holds.
class Dialog {
 public:
  explicit Dialog(ProtocolOptions options = implicit_tls()) : protocol_(std::move(options)) { greeting_ = run(); }

  const std::string& greeting() const { return greeting_; }
  std::string feed(std::string_view bytes) {
    protocol_.receive(bytes);
    return run();
  }
  std::string answer(AuthOutcome outcome) {
    protocol_.credentials_checked(outcome);
    return run();
  }
  std::string answer(SenderOutcome outcome) {
    protocol_.sender_checked(outcome);
    return run();
  }
  std::string answer(Reply reply) {
    protocol_.message_handled(std::move(reply));
    return run();
  }
  std::string tls_handshake() {
    protocol_.tls_started();
    return run();
  }
  // Calls next() once more without answering, as a buggy driver would.
  std::string again() { return run(); }

  const Step& stopped_at() const { return stop_; }
  template <class T>
  bool awaits() const {
    return std::holds_alternative<T>(stop_);
  }
  bool needs_input() const { return awaits<NeedInput>(); }
  bool closed() const { return awaits<Close>(); }
  Protocol& protocol() { return protocol_; }

 private:
  std::string run() {
    std::string wire;
    for (;;) {
      Step step = protocol_.next();
      if (const auto* send = std::get_if<SendReply>(&step)) {
        wire += send->reply.wire();
        continue;
      }
      stop_ = std::move(step);
      return wire;
    }
  }

  Protocol protocol_;
  std::string greeting_;
  Step stop_ = NeedInput{};
};

// Greeted with EHLO and authenticated as alice.
Dialog authenticated(ProtocolOptions options = implicit_tls()) {
  Dialog dialog(std::move(options));
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n");
  dialog.answer(AuthOutcome::Accepted);
  return dialog;
}

// ... with MAIL FROM:<alice@example.org> allowed.
Dialog in_transaction(ProtocolOptions options = implicit_tls()) {
  Dialog dialog = authenticated(std::move(options));
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  dialog.answer(SenderOutcome::Allowed);
  return dialog;
}

// ... and one recipient.
Dialog with_recipient(ProtocolOptions options = implicit_tls()) {
  Dialog dialog = in_transaction(std::move(options));
  dialog.feed("RCPT TO:<bob@example.net>\r\n");
  return dialog;
}

// ... and in DATA.
Dialog in_data(ProtocolOptions options = implicit_tls()) {
  Dialog dialog = with_recipient(std::move(options));
  dialog.feed("DATA\r\n");
  return dialog;
}

// Everything a driver sees of a session fed in `pieces`, answering every asynchronous step
// with success; for checking that how the input is split changes nothing.
std::string transcript(const std::vector<std::string>& pieces, ProtocolOptions options = implicit_tls()) {
  Protocol protocol(std::move(options));
  std::string out;
  const auto drain = [&] {
    for (;;) {
      Step step = protocol.next();
      if (auto* send = std::get_if<SendReply>(&step)) {
        out += send->reply.wire();
      } else if (std::holds_alternative<NeedInput>(step)) {
        return true;
      } else if (auto* verify = std::get_if<VerifyCredentials>(&step)) {
        out += "[verify " + verify->user + "]\n";
        protocol.credentials_checked(AuthOutcome::Accepted);
      } else if (auto* check = std::get_if<CheckSender>(&step)) {
        out += "[sender " + check->address + "]\n";
        protocol.sender_checked(SenderOutcome::Allowed);
      } else if (auto* accept = std::get_if<AcceptMessage>(&step)) {
        out += "[message " + accept->envelope.body + "]\n";
        protocol.message_handled(Reply::line(250, "2.0.0", "Ok: queued"));
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

// ---- Greeting, EHLO, HELO ----

TEST(SmtpProtocol, GreetsWith220HostnameWithoutEnhancedCode) {
  Dialog dialog;
  EXPECT_EQ(dialog.greeting(), kGreeting);
  EXPECT_TRUE(dialog.needs_input());
}

TEST(SmtpProtocol, EhloUnderTlsOffersAuthButNotStartTls) {
  ProtocolOptions options = implicit_tls();
  options.tls_available = true;
  Dialog dialog(options);
  EXPECT_EQ(dialog.feed("EHLO client.example\r\n"),
            "250-mx.example.org Hello client.example\r\n"
            "250-PIPELINING\r\n"
            "250-SIZE 26214400\r\n"
            "250-8BITMIME\r\n"
            "250-SMTPUTF8\r\n"
            "250-ENHANCEDSTATUSCODES\r\n"
            "250 AUTH PLAIN LOGIN\r\n");
}

TEST(SmtpProtocol, EhloInPlaintextOffersStartTlsButNotAuth) {
  Dialog dialog(plaintext_with_starttls());
  EXPECT_EQ(dialog.feed("EHLO client.example\r\n"),
            "250-mx.example.org Hello client.example\r\n"
            "250-PIPELINING\r\n"
            "250-SIZE 26214400\r\n"
            "250-8BITMIME\r\n"
            "250-SMTPUTF8\r\n"
            "250-ENHANCEDSTATUSCODES\r\n"
            "250 STARTTLS\r\n");
}

TEST(SmtpProtocol, EhloInPlaintextOffersAuthWhenAllowedWithoutTls) {
  ProtocolOptions options = plaintext_with_starttls();
  options.auth_without_tls = true;
  options.max_message_size = 1000;
  Dialog dialog(options);
  EXPECT_EQ(dialog.feed("EHLO client.example\r\n"),
            "250-mx.example.org Hello client.example\r\n"
            "250-PIPELINING\r\n"
            "250-SIZE 1000\r\n"
            "250-8BITMIME\r\n"
            "250-SMTPUTF8\r\n"
            "250-ENHANCEDSTATUSCODES\r\n"
            "250-STARTTLS\r\n"
            "250 AUTH PLAIN LOGIN\r\n");
}

TEST(SmtpProtocol, EhloWithoutCertificateOffersNeitherStartTlsNorAuth) {
  ProtocolOptions options = plaintext_with_starttls();
  options.tls_available = false;
  Dialog dialog(options);
  EXPECT_EQ(dialog.feed("EHLO client.example\r\n"),
            "250-mx.example.org Hello client.example\r\n"
            "250-PIPELINING\r\n"
            "250-SIZE 26214400\r\n"
            "250-8BITMIME\r\n"
            "250-SMTPUTF8\r\n"
            "250 ENHANCEDSTATUSCODES\r\n");
}

TEST(SmtpProtocol, EhloWithoutArgumentIs501) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("EHLO\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
  EXPECT_EQ(dialog.feed("EHLO \r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
}

TEST(SmtpProtocol, EhloWithSpaceOrControlCharacterInArgumentIs501) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("EHLO two words\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
  EXPECT_EQ(dialog.feed("EHLO bell\a\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
}

TEST(SmtpProtocol, EhloArgumentOver255OctetsIs501) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("EHLO " + std::string(256, 'a') + "\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
  EXPECT_EQ(dialog.feed("EHLO " + std::string(255, 'a') + "\r\n").substr(0, 4), "250-");
}

TEST(SmtpProtocol, HeloRepliesWithHostname) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("HELO client.example\r\n"), "250 mx.example.org\r\n");
}

TEST(SmtpProtocol, HeloWithoutArgumentIs501) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("HELO\r\n"), "501 5.5.4 Syntax: HELO hostname\r\n");
}

TEST(SmtpProtocol, VerbsAreCaseInsensitive) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("ehlo client.example\r\n").substr(0, 4), "250-");
  EXPECT_EQ(dialog.feed("nOoP\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(dialog.feed("helo client.example\r\n"), "250 mx.example.org\r\n");
}

TEST(SmtpProtocol, EhloEndsTheTransactionButNotTheAuthentication) {
  Dialog dialog = with_recipient();
  dialog.feed("EHLO again.example\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<bob@example.net>\r\n"), "503 5.5.1 Need MAIL command\r\n");
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  EXPECT_TRUE(dialog.awaits<CheckSender>());
}

TEST(SmtpProtocol, HeloEndsTheTransaction) {
  Dialog dialog = with_recipient();
  EXPECT_EQ(dialog.feed("HELO again.example\r\n"), "250 mx.example.org\r\n");
  EXPECT_EQ(dialog.feed("DATA\r\n"), "503 5.5.1 Need MAIL command\r\n");
}

// ---- Simple verbs ----

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

// ---- HTTP ----

class SmtpProtocolHttp : public testing::TestWithParam<std::string> {};

TEST_P(SmtpProtocolHttp, HttpRequestIs421AndClose) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed(GetParam() + " / HTTP/1.1\r\nHost: mx.example.org\r\n\r\n"),
            "421 4.7.0 HTTP not spoken here\r\n");
  EXPECT_TRUE(dialog.closed());
}

INSTANTIATE_TEST_SUITE_P(SmtpAllVerbs, SmtpProtocolHttp,
                         testing::Values("GET", "POST", "HEAD", "PUT", "CONNECT", "OPTIONS", "DELETE", "get",
                                         "Post"));

TEST(SmtpProtocol, HttpRequestAfterEhloIs421AndClose) {
  Dialog dialog = authenticated();
  EXPECT_EQ(dialog.feed("POST /submit HTTP/1.1\r\n"), "421 4.7.0 HTTP not spoken here\r\n");
  EXPECT_TRUE(dialog.closed());
}

// ---- Lines ----

TEST(SmtpProtocol, CommandWaitsForItsCrLf) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("NO"), "");
  EXPECT_TRUE(dialog.needs_input());
  EXPECT_EQ(dialog.feed("OP\r"), "");
  EXPECT_EQ(dialog.feed("\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, CommandLineOf1000OctetsIsAccepted) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("NOOP " + std::string(993, 'x') + "\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, CommandLineOf1001OctetsIs500LineTooLong) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("NOOP " + std::string(994, 'x') + "\r\n"), "500 5.5.2 Line too long\r\n");
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, RestOfOverlongLineIsSkippedNotInterpreted) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed(std::string(1000, 'x') + "QUIT\r\nNOOP\r\n"), "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
  EXPECT_FALSE(dialog.closed());
}

TEST(SmtpProtocol, OverlongLineOverManyReadsIsOneErrorWithBoundedBuffer) {
  Dialog dialog;
  std::string replies;
  for (int i = 0; i < 256; ++i) {
    replies += dialog.feed(std::string(4096, 'x'));
    EXPECT_LT(dialog.protocol().buffered_bytes(), kMaxCommandLine);
  }
  replies += dialog.feed("\r\nNOOP\r\n");
  EXPECT_EQ(replies, "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, BareLfIs500) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("NOOP\n"), "500 5.5.2 Bare CR or LF not allowed\r\n");
  EXPECT_EQ(dialog.feed("\n"), "500 5.5.2 Bare CR or LF not allowed\r\n");
}

TEST(SmtpProtocol, BareCrIs500) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("NOOP\rQUIT\r\n"), "500 5.5.2 Bare CR or LF not allowed\r\n");
  EXPECT_EQ(dialog.feed("NOOP\r\r\n"), "500 5.5.2 Bare CR or LF not allowed\r\n");
  EXPECT_FALSE(dialog.closed());
}

TEST(SmtpProtocol, NulIs500) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("NOOP\0x\r\n"s), "500 5.5.2 NUL not allowed\r\n");
}

TEST(SmtpProtocol, TrailingSpacesAfterArgumentsAreTolerated) {
  Dialog dialog = with_recipient();
  EXPECT_EQ(dialog.feed("DATA  \r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
}

// ---- Error counting ----

TEST(SmtpProtocol, FifthErrorIsFollowedBy421AndClose) {
  Dialog dialog;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(dialog.feed("BOGUS\r\n"), "500 5.5.1 Command unrecognized\r\n");
  EXPECT_EQ(dialog.feed("BOGUS\r\n"), "500 5.5.1 Command unrecognized\r\n421 4.7.0 Too many errors\r\n");
  EXPECT_TRUE(dialog.closed());
}

TEST(SmtpProtocol, EveryKindOf5xxCountsAsAnError) {
  Dialog dialog;
  dialog.feed("NOOP\n");                        // bad line
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");  // 503 sequence
  dialog.feed("EHLO\r\n");                      // 501 syntax
  dialog.feed("EXPN staff\r\n");                // 502
  EXPECT_EQ(dialog.feed(std::string(1001, 'x') + "\r\n"), "500 5.5.2 Line too long\r\n421 4.7.0 Too many errors\r\n");
  EXPECT_TRUE(dialog.closed());
}

TEST(SmtpProtocol, RejectedCredentialsCountAsErrors) {
  ProtocolOptions options = implicit_tls();
  options.max_errors = 2;
  Dialog dialog(options);
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n");
  EXPECT_EQ(dialog.answer(AuthOutcome::Rejected), "535 5.7.8 Authentication credentials invalid\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n");
  EXPECT_EQ(dialog.answer(AuthOutcome::Rejected),
            "535 5.7.8 Authentication credentials invalid\r\n421 4.7.0 Too many errors\r\n");
  EXPECT_TRUE(dialog.closed());
}

TEST(SmtpProtocol, TransientRepliesDoNotCountAsErrors) {
  ProtocolOptions options = implicit_tls();
  options.max_errors = 1;
  options.max_recipients = 1;
  Dialog dialog = with_recipient(options);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(dialog.feed("RCPT TO:<c@example.net>\r\n"), "452 4.5.3 Too many recipients\r\n");
  EXPECT_TRUE(dialog.needs_input());
}

TEST(SmtpProtocol, ErrorsBeforeStartTlsStillCountAfterIt) {
  ProtocolOptions options = plaintext_with_starttls();
  options.max_errors = 2;
  Dialog dialog(options);
  dialog.feed("BOGUS\r\n");
  dialog.feed("STARTTLS\r\n");
  dialog.tls_handshake();
  EXPECT_EQ(dialog.feed("BOGUS\r\n"), "500 5.5.1 Command unrecognized\r\n421 4.7.0 Too many errors\r\n");
}

// ---- STARTTLS ----

TEST(SmtpProtocol, StartTlsIs220ThenHandshake) {
  Dialog dialog(plaintext_with_starttls());
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_TRUE(dialog.awaits<StartTls>());
  EXPECT_EQ(dialog.tls_handshake(), "");
  EXPECT_TRUE(dialog.needs_input());
  EXPECT_TRUE(dialog.protocol().tls_active());
}

TEST(SmtpProtocol, StartTlsWithArgumentIs501) {
  Dialog dialog(plaintext_with_starttls());
  EXPECT_EQ(dialog.feed("STARTTLS now\r\n"), "501 5.5.4 Syntax: STARTTLS\r\n");
}

TEST(SmtpProtocol, StartTlsUnderTlsIs503) {
  ProtocolOptions options = implicit_tls();
  options.tls_available = true;
  Dialog dialog(options);
  EXPECT_EQ(dialog.feed("STARTTLS\r\n"), "503 5.5.1 TLS already active\r\n");
}

TEST(SmtpProtocol, StartTlsWithoutCertificateIs454) {
  ProtocolOptions options = plaintext_with_starttls();
  options.tls_available = false;
  Dialog dialog(options);
  EXPECT_EQ(dialog.feed("STARTTLS\r\n"), "454 4.7.0 TLS not available\r\n");
}

TEST(SmtpProtocol, SecondStartTlsAfterHandshakeIs503) {
  Dialog dialog(plaintext_with_starttls());
  dialog.feed("STARTTLS\r\n");
  dialog.tls_handshake();
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("STARTTLS\r\n"), "503 5.5.1 TLS already active\r\n");
}

TEST(SmtpProtocol, CommandsPipelinedBeforeHandshakeAreDiscarded) {
  ProtocolOptions options = plaintext_with_starttls();
  options.auth_without_tls = true;
  Dialog dialog(options);
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("STARTTLS\r\nAUTH PLAIN " + kPlainAlice + "\r\nMAIL FROM:<alice@example.org>\r\n"),
            "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_TRUE(dialog.awaits<StartTls>());
  EXPECT_EQ(dialog.tls_handshake(), "");
  EXPECT_TRUE(dialog.needs_input());
  EXPECT_EQ(dialog.protocol().buffered_bytes(), 0u);
  EXPECT_EQ(dialog.feed("MAIL FROM:<alice@example.org>\r\n"), "503 5.5.1 Send EHLO first\r\n");
}

TEST(SmtpProtocol, PartialLineBeforeHandshakeIsDiscarded) {
  Dialog dialog(plaintext_with_starttls());
  dialog.feed("STARTTLS\r\nBOG");
  dialog.tls_handshake();
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, NextBeforeHandshakeRepeatsStartTlsAndReadsNothing) {
  Dialog dialog(plaintext_with_starttls());
  dialog.feed("STARTTLS\r\nNOOP\r\n");
  EXPECT_EQ(dialog.again(), "");
  EXPECT_TRUE(dialog.awaits<StartTls>());
}

TEST(SmtpProtocol, StartTlsForgetsAuthenticationAndTransaction) {
  ProtocolOptions options = plaintext_with_starttls();
  options.auth_without_tls = true;
  Dialog dialog = with_recipient(options);
  EXPECT_EQ(dialog.feed("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  dialog.tls_handshake();
  EXPECT_EQ(dialog.protocol().authenticated_user(), "");
  EXPECT_EQ(dialog.feed("EHLO client.example\r\n"),
            "250-mx.example.org Hello client.example\r\n"
            "250-PIPELINING\r\n"
            "250-SIZE 26214400\r\n"
            "250-8BITMIME\r\n"
            "250-SMTPUTF8\r\n"
            "250-ENHANCEDSTATUSCODES\r\n"
            "250 AUTH PLAIN LOGIN\r\n");
  EXPECT_EQ(dialog.feed("MAIL FROM:<alice@example.org>\r\n"), "530 5.7.0 Authentication required\r\n");
  EXPECT_EQ(dialog.feed("DATA\r\n"), "503 5.5.1 Need MAIL command\r\n");
}

TEST(SmtpProtocol, AuthAfterStartTlsSucceeds) {
  Dialog dialog(plaintext_with_starttls());
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n"),
            "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
  dialog.feed("STARTTLS\r\n");
  dialog.tls_handshake();
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n");
  EXPECT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(dialog.answer(AuthOutcome::Accepted), "235 2.7.0 Authentication successful\r\n");
}

// ---- AUTH ----

TEST(SmtpProtocol, AuthBeforeEhloIs503) {
  Dialog dialog;
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n"), "503 5.5.1 Send EHLO first\r\n");
}

TEST(SmtpProtocol, AuthAfterHeloIs503) {
  Dialog dialog;
  dialog.feed("HELO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n"), "503 5.5.1 Send EHLO first\r\n");
}

TEST(SmtpProtocol, AuthWithoutTlsIs538) {
  Dialog dialog(plaintext_with_starttls());
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH LOGIN\r\n"), "538 5.7.11 Encryption required for requested authentication mechanism\r\n");
}

TEST(SmtpProtocol, AuthInPlaintextWhenAllowedWithoutTls) {
  ProtocolOptions options = plaintext_with_starttls();
  options.auth_without_tls = true;
  Dialog dialog(options);
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n");
  EXPECT_TRUE(dialog.awaits<VerifyCredentials>());
}

TEST(SmtpProtocol, AuthPlainWithInitialResponseAsksToVerify) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n"), "");
  ASSERT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(std::get<VerifyCredentials>(dialog.stopped_at()), (VerifyCredentials{"", "alice", "secret"}));
  EXPECT_EQ(dialog.answer(AuthOutcome::Accepted), "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(dialog.protocol().authenticated_user(), "alice");
}

TEST(SmtpProtocol, AuthMechanismIsCaseInsensitive) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("auth plain " + kPlainAlice + "\r\n");
  EXPECT_TRUE(dialog.awaits<VerifyCredentials>());
}

TEST(SmtpProtocol, AuthPlainPassesAuthzidToTheDriver) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN YWRtaW4AYWxpY2UAc2VjcmV0\r\n");  // "admin\0alice\0secret"
  ASSERT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(std::get<VerifyCredentials>(dialog.stopped_at()), (VerifyCredentials{"admin", "alice", "secret"}));
}

TEST(SmtpProtocol, AuthPlainWithoutInitialResponseSendsEmptyChallenge) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(dialog.feed(kPlainAlice + "\r\n"), "");
  ASSERT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(std::get<VerifyCredentials>(dialog.stopped_at()), (VerifyCredentials{"", "alice", "secret"}));
}

TEST(SmtpProtocol, AuthPlainEmptyInitialResponseIsAnInvalidPayload) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN =\r\n"), "501 5.5.2 Invalid PLAIN payload\r\n");
}

TEST(SmtpProtocol, AuthPlainMalformedPayloadIs501) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN YWxpY2U=\r\n"), "501 5.5.2 Invalid PLAIN payload\r\n");          // "alice"
  EXPECT_EQ(dialog.feed("AUTH PLAIN YWxpY2UAc2VjcmV0\r\n"), "501 5.5.2 Invalid PLAIN payload\r\n");  // one NUL
  EXPECT_EQ(dialog.feed("AUTH PLAIN AGFsaWNlAA==\r\n"), "501 5.5.2 Invalid PLAIN payload\r\n");      // no password
  EXPECT_EQ(dialog.feed("AUTH PLAIN AABzZWNyZXQ=\r\n"), "501 5.5.2 Invalid PLAIN payload\r\n");      // no user
}

TEST(SmtpProtocol, AuthInvalidBase64Is501) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN AGFsaWNlAHNlY3JldA\r\n"), "501 5.5.2 Invalid base64 data\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_EQ(dialog.feed("not base64!\r\n"), "501 5.5.2 Invalid base64 data\r\n");
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, AuthStarCancels) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN\r\n");
  EXPECT_EQ(dialog.feed("*\r\n"), "501 5.7.0 Authentication cancelled\r\n");
  dialog.feed("AUTH LOGIN\r\n");
  EXPECT_EQ(dialog.feed("*\r\n"), "501 5.7.0 Authentication cancelled\r\n");
  dialog.feed("AUTH LOGIN\r\n");
  dialog.feed("YWxpY2U=\r\n");
  EXPECT_EQ(dialog.feed("*\r\n"), "501 5.7.0 Authentication cancelled\r\n");
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, AuthLoginPromptsForUsernameThenPassword) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(dialog.feed("YWxpY2U=\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(dialog.feed("c2VjcmV0\r\n"), "");
  ASSERT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(std::get<VerifyCredentials>(dialog.stopped_at()), (VerifyCredentials{"", "alice", "secret"}));
  EXPECT_EQ(dialog.answer(AuthOutcome::Accepted), "235 2.7.0 Authentication successful\r\n");
}

TEST(SmtpProtocol, AuthLoginInitialResponseIsTheUsername) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH LOGIN YWxpY2U=\r\n"), "334 UGFzc3dvcmQ6\r\n");
  dialog.feed("c2VjcmV0\r\n");
  ASSERT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(std::get<VerifyCredentials>(dialog.stopped_at()), (VerifyCredentials{"", "alice", "secret"}));
}

TEST(SmtpProtocol, AuthLoginEmptyPasswordIs501) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH LOGIN YWxpY2U=\r\n");
  EXPECT_EQ(dialog.feed("\r\n"), "501 5.5.2 Invalid LOGIN payload\r\n");
}

TEST(SmtpProtocol, AuthUnknownMechanismIs504) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH CRAM-MD5\r\n"), "504 5.5.4 Unrecognized authentication mechanism\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAINX " + kPlainAlice + "\r\n"), "504 5.5.4 Unrecognized authentication mechanism\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAI " + kPlainAlice + "\r\n"), "504 5.5.4 Unrecognized authentication mechanism\r\n");
}

TEST(SmtpProtocol, AuthWithoutMechanismIs501) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH\r\n"), "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN a b\r\n"), "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n");
}

TEST(SmtpProtocol, AuthWhenAuthenticatedIs503) {
  Dialog dialog = authenticated();
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n"), "503 5.5.1 Already authenticated\r\n");
}

TEST(SmtpProtocol, AuthRejectedIs535AndMayBeRetried) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n");
  EXPECT_EQ(dialog.answer(AuthOutcome::Rejected), "535 5.7.8 Authentication credentials invalid\r\n");
  EXPECT_EQ(dialog.protocol().authenticated_user(), "");
  EXPECT_EQ(dialog.feed("MAIL FROM:<alice@example.org>\r\n"), "530 5.7.0 Authentication required\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n");
  EXPECT_EQ(dialog.answer(AuthOutcome::Accepted), "235 2.7.0 Authentication successful\r\n");
}

TEST(SmtpProtocol, AuthTemporaryFailureIs454) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n");
  EXPECT_EQ(dialog.answer(AuthOutcome::TemporaryFailure), "454 4.7.0 Temporary authentication failure\r\n");
  EXPECT_TRUE(dialog.needs_input());
}

TEST(SmtpProtocol, AuthTooManyFailuresIs421AndClose) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\nNOOP\r\n");
  EXPECT_EQ(dialog.answer(AuthOutcome::TooManyFailures), "421 4.7.0 Too many authentication failures\r\n");
  EXPECT_TRUE(dialog.closed());
}

TEST(SmtpProtocol, AuthResponseLineMayExceed1000Octets) {
  const std::string password(8000, 'p');
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN\r\n");
  dialog.feed(base64("\0alice\0"s + password) + "\r\n");
  ASSERT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(std::get<VerifyCredentials>(dialog.stopped_at()).password, password);
}

TEST(SmtpProtocol, AuthResponseLineOver12288OctetsIs500AndEndsTheExchange) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH PLAIN\r\n");
  EXPECT_EQ(dialog.feed(std::string(12288, 'A') + "\r\nNOOP\r\n"), "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, AuthInitialResponseIsHeldToTheCommandLineLimit) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + base64("\0alice\0"s + std::string(800, 'p')) + "\r\n"),
            "500 5.5.2 Line too long\r\n");
}

TEST(SmtpProtocol, BadLineDuringAuthExchangeEndsIt) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  dialog.feed("AUTH LOGIN\r\n");
  EXPECT_EQ(dialog.feed("YWxp\rY2U=\r\n"), "500 5.5.2 Bare CR or LF not allowed\r\n");
  EXPECT_EQ(dialog.feed("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST(SmtpProtocol, AuthDuringTransactionIs503) {
  Dialog dialog = in_transaction();
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\n"), "503 5.5.1 Not allowed during a mail transaction\r\n");
}

TEST(SmtpProtocol, CommandsPipelinedAfterAuthWaitForTheVerdict) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.feed("AUTH PLAIN " + kPlainAlice + "\r\nMAIL FROM:<alice@example.org>\r\n"), "");
  ASSERT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(dialog.again(), "");
  EXPECT_TRUE(dialog.awaits<VerifyCredentials>());
  EXPECT_EQ(dialog.answer(AuthOutcome::Accepted), "235 2.7.0 Authentication successful\r\n");
  ASSERT_TRUE(dialog.awaits<CheckSender>());
  EXPECT_EQ(std::get<CheckSender>(dialog.stopped_at()), (CheckSender{"alice", "alice@example.org"}));
}

TEST(SmtpProtocol, AnswerWithoutPendingStepIsIgnored) {
  Dialog dialog;
  EXPECT_EQ(dialog.answer(AuthOutcome::Accepted), "");
  EXPECT_EQ(dialog.answer(SenderOutcome::Allowed), "");
  EXPECT_EQ(dialog.answer(Reply::line(250, "2.0.0", "Ok")), "");
  EXPECT_EQ(dialog.tls_handshake(), "");
  EXPECT_EQ(dialog.protocol().authenticated_user(), "");
  EXPECT_TRUE(dialog.needs_input());
}

// ---- What may be logged ----

TEST(SmtpProtocol, LogNeverShowsAuthData) {
  Dialog dialog;
  dialog.feed("EHLO client.example\r\n");
  EXPECT_EQ(dialog.protocol().last_command_for_log(), "EHLO client.example");
  dialog.feed("AUTH plain " + kPlainAlice + "\r\n");
  EXPECT_EQ(dialog.protocol().last_command_for_log(), "AUTH PLAIN ***");
  dialog.answer(AuthOutcome::Rejected);
  dialog.feed("AUTH LOGIN\r\n");
  EXPECT_EQ(dialog.protocol().last_command_for_log(), "AUTH LOGIN");
  dialog.feed("YWxpY2U=\r\n");
  EXPECT_EQ(dialog.protocol().last_command_for_log(), "***");
  dialog.feed("c2VjcmV0\r\n");
  EXPECT_EQ(dialog.protocol().last_command_for_log(), "***");
  dialog.answer(AuthOutcome::Rejected);
  dialog.feed("AUTH c2VjcmV0 c2VjcmV0\r\n");
  EXPECT_EQ(dialog.protocol().last_command_for_log(), "AUTH *** ***");
  dialog.feed("AUTH PLAIN\r\n");
  dialog.feed("c2Vj\rcmV0\r\n");
  EXPECT_EQ(dialog.protocol().last_command_for_log(), "<bare CR or LF>");
}

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
  EXPECT_EQ(dialog.answer(SenderOutcome::Allowed), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<bob@example.net>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST(SmtpProtocol, MailWithForeignSenderIs553) {
  Dialog dialog = authenticated();
  dialog.feed("MAIL FROM:<ceo@example.org>\r\n");
  EXPECT_EQ(dialog.answer(SenderOutcome::Denied), "553 5.7.1 Sender address rejected: not owned by user\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<bob@example.net>\r\n"), "503 5.5.1 Need MAIL command\r\n");
}

TEST(SmtpProtocol, MailWhenGrantsCannotBeReadIs451) {
  Dialog dialog = authenticated();
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  EXPECT_EQ(dialog.answer(SenderOutcome::TemporaryFailure), "451 4.3.0 Temporary failure, try again later\r\n");
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
  dialog.answer(SenderOutcome::Allowed);
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

// ---- DATA ----

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
  dialog.answer(SenderOutcome::Allowed);
  dialog.feed("RCPT TO:<bob@example.net>\r\nRCPT TO:<carol@example.net>\r\n");
  EXPECT_EQ(dialog.feed("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_TRUE(dialog.needs_input());
  EXPECT_EQ(dialog.feed("Subject: hi\r\n\r\n..leading dot\r\nbye\r\n.\r\n"), "");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  const Envelope expected{"alice",
                          "alice@example.org",
                          {"bob@example.net", "carol@example.net"},
                          "Subject: hi\r\n\r\n.leading dot\r\nbye\r\n",
                          BodyType::EightBitMime,
                          true,
                          "client.example"};
  EXPECT_EQ(std::get<AcceptMessage>(dialog.stopped_at()).envelope, expected);
}

TEST(SmtpProtocol, MessageHandledSendsTheDriversReplyAndEndsTheTransaction) {
  Dialog dialog = in_data();
  dialog.feed("hello\r\n.\r\n");
  EXPECT_EQ(dialog.answer(Reply::line(250, "2.0.0", "Ok: queued as 42")), "250 2.0.0 Ok: queued as 42\r\n");
  EXPECT_EQ(dialog.feed("RCPT TO:<bob@example.net>\r\n"), "503 5.5.1 Need MAIL command\r\n");
  dialog.feed("MAIL FROM:<alice@example.org>\r\n");
  EXPECT_TRUE(dialog.awaits<CheckSender>());
}

TEST(SmtpProtocol, RefusedMessageEndsTheTransactionToo) {
  Dialog dialog = in_data();
  dialog.feed("spam\r\n.\r\n");
  EXPECT_EQ(dialog.answer(Reply::line(550, "5.7.1", "Rejected by filter")), "550 5.7.1 Rejected by filter\r\n");
  EXPECT_EQ(dialog.feed("DATA\r\n"), "503 5.5.1 Need MAIL command\r\n");
}

TEST(SmtpProtocol, EmptyMessageIsJustTheDot) {
  Dialog dialog = in_data();
  dialog.feed(".\r\n");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  EXPECT_EQ(std::get<AcceptMessage>(dialog.stopped_at()).envelope.body, "");
}

TEST(SmtpProtocol, NextBeforeMessageHandledRepeatsTheEnvelopeWithoutBody) {
  Dialog dialog = in_data();
  dialog.feed("hello\r\n.\r\nQUIT\r\n");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  EXPECT_EQ(dialog.again(), "");
  ASSERT_TRUE(dialog.awaits<AcceptMessage>());
  EXPECT_EQ(std::get<AcceptMessage>(dialog.stopped_at()).envelope.mail_from, "alice@example.org");
  EXPECT_EQ(std::get<AcceptMessage>(dialog.stopped_at()).envelope.body, "");
  EXPECT_EQ(dialog.answer(Reply::line(250, "2.0.0", "Ok")), "250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n");
}

TEST(SmtpProtocol, CommandsInTheMessageAreNotCommands) {
  Dialog dialog = in_data();
  EXPECT_EQ(dialog.feed("QUIT\r\nRSET\r\n"), "");
  EXPECT_TRUE(dialog.needs_input());
  dialog.feed(".\r\n");
  EXPECT_EQ(std::get<AcceptMessage>(dialog.stopped_at()).envelope.body, "QUIT\r\nRSET\r\n");
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

// ---- Pipelining and input splits ----

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
