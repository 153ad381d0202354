// Drives smtp_client::Protocol with arbitrary server bytes, as the upstream session would, and
// checks the invariants every client session must keep whatever the server sends.
//
// Input: the first byte chooses the session (bits 0-1: security none, STARTTLS, implicit TLS;
// bit 2: AUTH with a username; bit 3: SMTPUTF8 mail; bit 4: 8BITMIME mail; bit 5: the TLS
// handshake fails), the second the read size (the low 6 bits, or the whole input when they are
// 0); the rest is what the server sends. Each session carries up to three messages, then quits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "server/smtp_client/protocol.hpp"

namespace {

using namespace smtp_client;

constexpr int kMessages = 3;
constexpr int kMaxIdleSteps = 1000;  // steps in a row without input: a loop
const std::string kBody = ".first\r\n..second\r\nmiddle\r\n.\r\nlast without CRLF";
const std::string kStuffedBody = "..first\r\n...second\r\nmiddle\r\n..\r\nlast without CRLF\r\n.\r\n";

void check(bool invariant) {
  if (!invariant) std::abort();
}

// Commands are CRLF lines, with no CR, LF or NUL inside: nothing the server sent, nor an
// address of ours, can smuggle a command in.
void check_commands(std::string_view bytes) {
  check(bytes.ends_with("\r\n"));
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    check(bytes[i] != '\0');
    if (bytes[i] == '\r') check(i + 1 < bytes.size() && bytes[i + 1] == '\n');
    if (bytes[i] == '\n') check(i > 0 && bytes[i - 1] == '\r');
  }
  check(bytes.find("evil") == std::string_view::npos);
}

void check_result(const TransactionResult& result, const Envelope& envelope, bool reused) {
  check(result.recipients.size() == envelope.recipients.size());
  check(!result.stale || reused);
  for (const RecipientResult& recipient : result.recipients) {
    const int code = recipient.reply.code;
    check(code >= 200 && code <= 599);
    const Outcome expected = code < 300 ? Outcome::Delivered : code >= 500 ? Outcome::Permanent : Outcome::Temporary;
    check(recipient.outcome == expected);
  }
  // The recipient with a line break never reaches the server (check_commands), never delivered.
  check(result.recipients[1].outcome != Outcome::Delivered);
}

Envelope make_envelope(std::uint8_t flags) {
  Envelope envelope;
  envelope.sender = "alice@example.com";
  envelope.recipients = {"bob@example.net", "x@y\r\nRCPT TO:<evil@example.org>", "carol@example.org"};
  envelope.size = DotStuffer::size_as_sent(kBody);
  envelope.smtputf8 = (flags & 0x08) != 0;
  envelope.eight_bit_mime = (flags & 0x10) != 0;
  return envelope;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  const std::size_t read_size = (data[1] & 0x3F) == 0 ? size : (data[1] & 0x3F);
  const std::string_view server(reinterpret_cast<const char*>(data + 2), size - 2);

  ProtocolOptions options;
  options.peer = "mx.test:587";
  options.ehlo_name = "relay.test";
  options.security = (flags & 3) == 1 ? Security::StartTls : (flags & 3) == 2 ? Security::ImplicitTls : Security::None;
  if (flags & 0x04) {
    options.username = "relay-user";
    options.password = "secret";
  }
  Protocol protocol(options);
  const Envelope envelope = make_envelope(flags);
  protocol.begin(envelope);

  bool reused = false;
  bool quit_sent = false;
  bool ready = false;
  int messages = 1;
  int idle_steps = 0;
  std::size_t pos = 0;
  for (;;) {
    check(++idle_steps < kMaxIdleSteps);
    Step step = protocol.next();
    if (std::holds_alternative<Connect>(step)) {
      protocol.connected();
    } else if (const auto* send = std::get_if<SendCommands>(&step)) {
      check(!quit_sent);
      check_commands(send->bytes);
      quit_sent = send->bytes == "QUIT\r\n";
    } else if (std::holds_alternative<ReadReply>(step)) {
      if (pos >= server.size()) {
        protocol.connection_failed(IoFailure::Closed);
      } else {
        protocol.receive(server.substr(pos, read_size));
        pos += read_size;
        idle_steps = 0;
      }
    } else if (std::holds_alternative<TlsHandshake>(step)) {
      check(options.security != Security::None);
      if (flags & 0x20) protocol.tls_failed("certificate verify failed (self-signed certificate)");
      else protocol.tls_started();
    } else if (std::holds_alternative<SendBody>(step)) {
      std::string out;
      for (std::size_t piece = 0; piece < kBody.size(); piece += 7) out += protocol.body_piece(kBody.substr(piece, 7));
      out += protocol.body_end();
      check(out == kStuffedBody);
      check(protocol.body_end().empty());
    } else if (std::holds_alternative<SessionReady>(step)) {
      check(!ready);  // once per session
      ready = true;
    } else if (const auto* done = std::get_if<TransactionDone>(&step)) {
      check_result(done->result, envelope, reused);
    } else if (std::holds_alternative<Idle>(step)) {
      check(protocol.reusable() && ready);
      if (messages++ < kMessages) {
        reused = true;
        protocol.begin(envelope);
      } else {
        protocol.quit();
      }
    } else {
      check(std::holds_alternative<Close>(step));
      check(std::holds_alternative<Close>(protocol.next()));
      check(!protocol.reusable());
      return 0;
    }
  }
}
