// Drives smtp::Protocol with arbitrary client bytes, as the network driver would, and checks
// the invariants every session must keep whatever the client sends.
//
// Input: the first byte chooses the listener (high bit set: plaintext with STARTTLS and
// plaintext AUTH allowed; clear: implicit TLS) and the read size (the low 6 bits, or the whole
// input when they are 0); the rest is what the client sends. Every asynchronous step is
// answered, cycling through its outcomes.
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

// What is queued is always clean CRLF text within the limits, never a second message.
void check_envelope(const Envelope& envelope) {
  check(!envelope.user.empty());
  check(!envelope.mail_from.empty());
  check(!envelope.recipients.empty());
  check(envelope.body.size() <= kMaxMessageSize);
  const std::string& body = envelope.body;
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
  const std::size_t read_size = (data[0] & 0x3F) == 0 ? size : (data[0] & 0x3F);
  const std::string_view client(reinterpret_cast<const char*>(data + 1), size - 1);

  ProtocolOptions options;
  options.hostname = "mx.example.org";
  options.max_message_size = kMaxMessageSize;
  options.max_recipients = 5;
  options.max_errors = 20;
  options.tls_active = !plaintext_listener;
  options.tls_available = true;
  options.auth_without_tls = plaintext_listener;
  Protocol protocol(options);

  constexpr std::array kAuthOutcomes = {AuthOutcome::Accepted, AuthOutcome::Rejected, AuthOutcome::TemporaryFailure,
                                        AuthOutcome::Accepted, AuthOutcome::TooManyFailures};
  constexpr std::array kSenderOutcomes = {SenderOutcome::Allowed, SenderOutcome::Denied,
                                          SenderOutcome::TemporaryFailure};
  const std::array kMessageReplies = {Reply::line(250, "2.0.0", "Ok: queued as 1"),
                                      Reply::line(550, "5.7.1", "Rejected by filter"),
                                      Reply::line(451, "4.3.0", "Temporary failure, try again later")};
  std::size_t answers = 0;
  std::size_t pos = 0;

  for (;;) {
    Step step = protocol.next();
    if (const auto* send = std::get_if<SendReply>(&step)) {
      check_reply(send->reply);
    } else if (std::holds_alternative<NeedInput>(step)) {
      // Only a partial line stays buffered between reads.
      check(protocol.buffered_bytes() < kMaxAuthResponseLine);
      if (pos >= client.size()) return 0;
      protocol.receive(client.substr(pos, read_size));
      pos += read_size;
    } else if (std::holds_alternative<StartTls>(step)) {
      check(!protocol.tls_active());
      protocol.tls_started();
      check(protocol.buffered_bytes() == 0 && protocol.authenticated_user().empty());
    } else if (std::holds_alternative<VerifyCredentials>(step)) {
      // The credentials never reach what the driver logs.
      const std::string& logged = protocol.last_command_for_log();
      check(logged == "***" || (logged.starts_with("AUTH ") && logged.ends_with(" ***")));
      protocol.credentials_checked(kAuthOutcomes[answers++ % kAuthOutcomes.size()]);
    } else if (const auto* sender = std::get_if<CheckSender>(&step)) {
      check(sender->user == protocol.authenticated_user() && !sender->address.empty());
      protocol.sender_checked(kSenderOutcomes[answers++ % kSenderOutcomes.size()]);
    } else if (const auto* accept = std::get_if<AcceptMessage>(&step)) {
      check_envelope(accept->envelope);
      protocol.message_handled(kMessageReplies[answers++ % kMessageReplies.size()]);
    } else {
      check(std::holds_alternative<Close>(step));
      check(std::holds_alternative<Close>(protocol.next()));
      return 0;
    }
  }
}
