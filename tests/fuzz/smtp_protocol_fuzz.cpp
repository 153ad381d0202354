// Drives smtp::Protocol with arbitrary client bytes, as the network driver would, and checks
// the invariants every session must keep whatever the client sends.
//
// Input: the first byte chooses the service (its value modulo 3: Submission, Inbound, LMTP).
// The second chooses the listener (high bit set: plaintext with STARTTLS and plaintext AUTH
// allowed; clear: implicit TLS), the size of MessageData pieces (bit 6: the smallest, 2 octets;
// clear: 97), the read size (the low 6 bits, or the whole input when they are 0), whether
// submission checks recipients (bit 0) and whether OAUTHBEARER and XOAUTH2 are offered (bit 1).
// The rest is what the client sends. Every asynchronous
// step is answered, cycling through every verdict, with and without a reply of the service's
// own.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "server/smtp/line_reader.hpp"
#include "server/smtp/protocol.hpp"

namespace {

using namespace smtp;
using Service = ProtocolOptions::Service;

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
// is the message's MessageData pieces, joined. Only submission has a user, and a sender always.
void check_message(Service service, const Envelope& envelope, const std::string& body) {
  check(envelope.user.empty() == (service != Service::Submission));
  check(!envelope.mail_from.empty() || service != Service::Submission);
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

// The replies to the end of a message, its own or the protocol's refusal: one per accepted
// recipient in LMTP, else one, all the same, and nothing else in between.
class MessageReplies {
 public:
  void expect(std::size_t count) {
    due_ = count;
    first_.reset();
  }
  bool pending() const { return due_ > 0; }
  void take(const Reply& reply) {
    if (first_) check(reply == *first_);
    first_ = reply;
    --due_;
  }

 private:
  std::size_t due_ = 0;
  std::optional<Reply> first_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  constexpr std::array kServices = {Service::Submission, Service::Inbound, Service::Lmtp};
  const Service service = kServices[data[0] % kServices.size()];
  const std::uint8_t listener = data[1];
  const bool plaintext_listener = (listener & 0x80) != 0;
  const std::size_t piece_size = (listener & 0x40) != 0 ? 2 : 97;
  const std::size_t read_size = (listener & 0x3F) == 0 ? size : (listener & 0x3F);
  const std::string_view client(reinterpret_cast<const char*>(data + 2), size - 2);

  ProtocolOptions options;
  options.service = service;
  options.hostname = "mx.example.org";
  options.max_message_size = kMaxMessageSize;
  options.message_piece_size = piece_size;
  options.max_recipients = 5;
  options.max_errors = 20;
  options.tls_active = !plaintext_listener;
  options.tls_available = true;
  options.auth_without_tls = plaintext_listener;
  options.check_recipients = (listener & 0x01) != 0;
  options.offer_oauth = (listener & 0x02) != 0;
  options.oauth_scope = "https://mail.example.org/";
  Protocol protocol(options);

  const std::array kAuthOutcomes = {Outcome::accepted(), Outcome::refused(), Outcome::temporary_failure(),
                                    Outcome::accepted(), Outcome::too_many_failures()};
  // A refused token goes through RFC 7628's error challenge; one accepted without an identity
  // names a user only when the client gave one.
  const std::array kBearerOutcomes = {Outcome::refused(), Outcome::authenticated("alice@example.org"),
                                      Outcome::accepted(), Outcome::temporary_failure(), Outcome::refused(),
                                      Outcome::too_many_failures()};
  const std::array kSenderOutcomes = {Outcome::accepted(), Outcome::refused(), Outcome::temporary_failure(),
                                      Outcome::accepted(), Outcome::too_many_failures()};
  const std::array kMessageOutcomes = {Outcome::accepted(Reply::line(250, "2.0.0", "Ok: queued as 1")),
                                       Outcome::refused(Reply::line(550, "5.7.1", "Rejected by filter")),
                                       Outcome::temporary_failure(), Outcome::accepted(), Outcome::refused(),
                                       Outcome::too_many_failures()};
  const bool submission = service == Service::Submission;
  const auto replies_per_message = [service](std::size_t accepted) {
    return service == Service::Lmtp ? accepted : 1;
  };
  std::size_t answers = 0;
  bool in_message = false;  // from the 354 until the message is handed over or refused
  std::string body;         // the MessageData pieces of the message being read
  // RCPTs accepted since the latest accepted MAIL: the transaction's recipients at the end of
  // its message. (No outcome given below for MAIL or RCPT has its own reply.)
  std::size_t recipients = 0;
  MessageReplies message_replies;
  std::size_t pos = 0;

  for (;;) {
    Step step = protocol.next();
    // Nobody logs in where there is no AUTH.
    check(submission || protocol.authenticated_user().empty());
    if (const auto* send = std::get_if<SendReply>(&step)) {
      check_reply(send->reply);
      // Between the 354 and the end of the message the only reply is the protocol's refusal.
      check(in_message == send->refused_message.has_value());
      if (send->refused_message) message_replies.expect(replies_per_message(recipients));
      if (message_replies.pending()) {
        message_replies.take(send->reply);
      } else if (send->reply == Reply::line(250, "2.1.0", "Ok")) {
        recipients = 0;
      } else if (send->reply == Reply::line(250, "2.1.5", "Ok")) {
        ++recipients;
      }
      in_message = send->reply.code == 354;
      body.clear();  // a refused message's pieces are dropped
      continue;
    }
    // A message's replies come all together.
    check(!message_replies.pending());
    if (const auto* data = std::get_if<MessageData>(&step)) {
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
      check(submission && !in_message && !verify->user.empty() && !verify->password.empty());
      protocol.credentials_checked(kAuthOutcomes[answers++ % kAuthOutcomes.size()]);
    } else if (const auto* bearer = std::get_if<VerifyBearerToken>(&step)) {
      check(submission && options.offer_oauth && !in_message && !bearer->token.empty() &&
            (bearer->mechanism == "OAUTHBEARER" || (bearer->mechanism == "XOAUTH2" && !bearer->user.empty())));
      protocol.credentials_checked(kBearerOutcomes[answers++ % kBearerOutcomes.size()]);
    } else if (const auto* sender = std::get_if<CheckSender>(&step)) {
      check(submission && !in_message && sender->user == protocol.authenticated_user() &&
            !sender->address.empty());
      protocol.sender_checked(kSenderOutcomes[answers++ % kSenderOutcomes.size()]);
    } else if (const auto* recipient = std::get_if<CheckRecipient>(&step)) {
      check((options.check_recipients || !submission) && !in_message &&
            recipient->user == protocol.authenticated_user() && !recipient->address.empty());
      protocol.recipient_checked(kSenderOutcomes[answers++ % kSenderOutcomes.size()]);
    } else if (const auto* accept = std::get_if<AcceptMessage>(&step)) {
      check(in_message);
      check_message(service, accept->envelope, body);
      check(accept->envelope.recipients.size() == recipients);
      in_message = false;
      body.clear();
      message_replies.expect(replies_per_message(recipients));
      protocol.message_handled(kMessageOutcomes[answers++ % kMessageOutcomes.size()]);
    } else {
      check(std::holds_alternative<Close>(step));
      check(std::holds_alternative<Close>(protocol.next()));
      return 0;
    }
  }
}
