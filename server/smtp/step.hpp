// What the protocol asks of its driver: Protocol::next() returns one Step at a time. The
// driver writes SendReply, reads more bytes on NeedInput, performs TLS on StartTls, answers
// VerifyCredentials / CheckSender / AcceptMessage through the matching Protocol call, and
// hangs up on Close.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "server/smtp/envelope_syntax.hpp"
#include "server/smtp/reply.hpp"

namespace smtp {

// One accepted message, ready for the filters and the queue.
struct Envelope {
  std::string user;  // the authenticated user who submits it
  std::string mail_from;
  std::vector<std::string> recipients;
  std::string body;  // dot-unstuffed, CRLF line endings, without the final ".\r\n"
  BodyType body_type = BodyType::SevenBit;
  bool smtputf8 = false;
  std::string helo;  // the client's EHLO/HELO argument
  friend bool operator==(const Envelope&, const Envelope&) = default;
};

// Write this reply. Replies may be batched; flush before acting on any other step, which is
// what makes pipelining work (RFC 2920 §3.1).
struct SendReply {
  Reply reply;
  friend bool operator==(const SendReply&, const SendReply&) = default;
};

// No complete command or data is buffered: read more and call Protocol::receive().
struct NeedInput {
  friend bool operator==(const NeedInput&, const NeedInput&) = default;
};

// The "220 Ready to start TLS" reply came just before: handshake, then Protocol::tls_started().
struct StartTls {
  friend bool operator==(const StartTls&, const StartTls&) = default;
};

// Check these credentials, then Protocol::credentials_checked(). A non-empty authzid that
// differs from `user` asks to act as someone else; the driver rejects that (Postern has no
// proxy authorization).
struct VerifyCredentials {
  std::string authzid;
  std::string user;
  std::string password;
  friend bool operator==(const VerifyCredentials&, const VerifyCredentials&) = default;
};

// May `user` send as `address`? Answer with Protocol::sender_checked().
struct CheckSender {
  std::string user;
  std::string address;  // the reverse-path without angle brackets or source route
  friend bool operator==(const CheckSender&, const CheckSender&) = default;
};

// Filter and queue this message, then Protocol::message_handled() with the reply to send.
struct AcceptMessage {
  Envelope envelope;
  friend bool operator==(const AcceptMessage&, const AcceptMessage&) = default;
};

// Flush the replies and close the connection.
struct Close {
  friend bool operator==(const Close&, const Close&) = default;
};

using Step = std::variant<SendReply, NeedInput, StartTls, VerifyCredentials, CheckSender, AcceptMessage, Close>;

enum class AuthOutcome { Accepted, Rejected, TemporaryFailure, TooManyFailures };

enum class SenderOutcome { Allowed, Denied, TemporaryFailure };

}  // namespace smtp
