// Drives smtp::Protocol with arbitrary client bytes, as the network driver would, and checks
// the invariants every session must keep whatever the client sends.
//
// Input: the first byte chooses the listener (high bit set: plaintext with STARTTLS and
// plaintext AUTH allowed; clear: implicit TLS), the size of MessageData pieces (bit 6: the
// smallest, 2 octets; clear: 97) and the read size (the low 6 bits, or the whole input when
// they are 0); the rest is what the client sends. Every asynchronous step is
// answered, cycling through every verdict, with and without a reply of the service's own.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "server/smtp/line_reader.hpp"
#include "server/smtp/protocol.hpp"

namespace {

using namespace smtp;

constexpr std::size_t kMaxMessageSize = 4096;

void check(bool invariant) {
  if (!invariant) std::abort();
}

// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with its CRLF.
void check_reply(const Reply& reply) {
  check(reply.code >= 200 && reply.code <= 599);
  const std::string wire = reply.wire();
  std::size_t start = 0;
  while (start < wire.size()) {
    const std::size_t crlf = wire.find("\r\n", start);
    check(crlf != std::string::npos);
    check(crlf + 2 - start <= 512);
    const std::string_view line = std::string_view(wire).substr(start, crlf - start);
    check(line.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);
    start = crlf + 2;
  }
}

// What is queued is always clean CRLF text within the limits, never a second message. `body`
// is the message's MessageData pieces, joined.
void check_message(const Envelope& envelope, const std::string& body) {
  check(!envelope.user.empty());
  check(!envelope.mail_from.empty());
  check(!envelope.recipients.empty());
  check(body.size() <= kMaxMessageSize);
  check(body.empty() || body.ends_with("\r\n"));
  std::size_t line_length = 0;
  for (std::size_t i = 0; i < body.size(); ++i) {
    check(body[i] != '\0');
    if (body[i] == '\r') check(i + 1 < body.size() && body[i + 1] == '\n');
    if (body[i] == '\n') check(i > 0 && body[i - 1] == '\r');
    line_length = body[i] == '\n' ? 0 : line_length + 1;
    check(line_length <= 1000);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool plaintext_listener = (data[0] & 0x80) != 0;
  const std::size_t piece_size = (data[0] & 0x40) != 0 ? 2 : 97;
  const std::size_t read_size = (data[0] & 0x3F) == 0 ? size : (data[0] & 0x3F);
  const std::string_view client(reinterpret_cast<const char*>(data + 1), size - 1);

  ProtocolOptions options;
  options.hostname = "mx.example.org";
  options.max_message_size = kMaxMessageSize;
  options.message_piece_size = piece_size;
  options.max_recipients = 5;
  options.max_errors = 20;
  options.tls_active = !plaintext_listener;
  options.tls_available = true;
  options.auth_without_tls = plaintext_listener;
  options.check_recipients = (data[0] & 0x01) != 0;
  Protocol protocol(options);

  const std::array kAuthOutcomes = {Outcome::accepted(), Outcome::refused(), Outcome::temporary_failure(),
                                    Outcome::accepted(), Outcome::too_many_failures()};
  const std::array kSenderOutcomes = {Outcome::accepted(), Outcome::refused(), Outcome::temporary_failure(),
                                      Outcome::accepted(), Outcome::too_many_failures()};
  const std::array kMessageOutcomes = {Outcome::accepted(Reply::line(250, "2.0.0", "Ok: queued as 1")),
                                       Outcome::refused(Reply::line(550, "5.7.1", "Rejected by filter")),
                                       Outcome::temporary_failure(), Outcome::accepted(), Outcome::refused(),
                                       Outcome::too_many_failures()};
  std::size_t answers = 0;
  bool in_message = false;  // from the 354 until the message is handed over or refused
  std::string body;         // the MessageData pieces of the message being read
  std::size_t pos = 0;

  for (;;) {
    Step step = protocol.next();
    if (const auto* send = std::get_if<SendReply>(&step)) {
      check_reply(send->reply);
      // Between the 354 and the end of the message the only reply is the protocol's refusal.
      check(in_message == send->refused_message.has_value());
      in_message = send->reply.code == 354;
      body.clear();  // a refused message's pieces are dropped
    } else if (const auto* data = std::get_if<MessageData>(&step)) {
      // Pieces come only within a message, non-empty and bounded, and never past the limit.
      check(in_message && !data->piece.empty() && data->piece.size() <= piece_size);
      body += data->piece;
      check(body.size() <= kMaxMessageSize);
    } else if (const auto* need = std::get_if<NeedInput>(&step)) {
      // Only a partial line stays buffered between reads.
      check(protocol.buffered_bytes() < kMaxAuthResponseLine);
      // Message data is awaited exactly between the 354 and the end of the message.
      check(need->message_data == in_message);
      if (pos >= client.size()) return 0;
      protocol.receive(client.substr(pos, read_size));
      pos += read_size;
    } else if (std::holds_alternative<StartTls>(step)) {
      check(!protocol.tls_active());
      protocol.tls_started();
      check(protocol.buffered_bytes() == 0 && protocol.authenticated_user().empty());
    } else if (const auto* verify = std::get_if<VerifyCredentials>(&step)) {
      check(!in_message && !verify->user.empty() && !verify->password.empty());
      protocol.credentials_checked(kAuthOutcomes[answers++ % kAuthOutcomes.size()]);
    } else if (const auto* sender = std::get_if<CheckSender>(&step)) {
      check(!in_message && sender->user == protocol.authenticated_user() && !sender->address.empty());
      protocol.sender_checked(kSenderOutcomes[answers++ % kSenderOutcomes.size()]);
    } else if (const auto* recipient = std::get_if<CheckRecipient>(&step)) {
      check(options.check_recipients && !in_message && recipient->user == protocol.authenticated_user() &&
            !recipient->address.empty());
      protocol.recipient_checked(kSenderOutcomes[answers++ % kSenderOutcomes.size()]);
    } else if (const auto* accept = std::get_if<AcceptMessage>(&step)) {
      check(in_message);
      check_message(accept->envelope, body);
      in_message = false;
      body.clear();
      protocol.message_handled(kMessageOutcomes[answers++ % kMessageOutcomes.size()]);
    } else {
      check(std::holds_alternative<Close>(step));
      check(std::holds_alternative<Close>(protocol.next()));
      return 0;
    }
  }
}
