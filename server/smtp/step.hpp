// What the protocol asks of its driver: Protocol::next() returns one Step at a time. The
// driver writes SendReply, reads more bytes on NeedInput, keeps each MessageData piece (in a
// spool: the message's content, in order), performs TLS on StartTls, answers
// VerifyCredentials / VerifyBearerToken / CheckSender / CheckRecipient / AcceptMessage with an Outcome through the
// matching Protocol call, and hangs up on Close.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "server/smtp/envelope_syntax.hpp"
#include "server/smtp/reply.hpp"

namespace smtp {

// One accepted message, ready for the filters and the queue. Its content came before it, in
// MessageData pieces.
struct Envelope {
  std::string user;                     // the authenticated user who submits it; empty on Inbound and LMTP
  std::string mail_from;                // empty for the null reverse-path "<>" (never on Submission)
  std::vector<std::string> recipients;  // the accepted ones, in RCPT order
  BodyType body_type = BodyType::SevenBit;
  bool smtputf8 = false;
  std::string helo;  // the client's EHLO/HELO/LHLO argument
  friend bool operator==(const Envelope&, const Envelope&) = default;
};

// Why the protocol itself refused a message at the end of DATA, before any service saw it.
enum class MessageRefusal {
  TooLarge,   // over max_message_size (552)
  Malformed,  // bare CR or LF, NUL, or a line over 1000 octets
};

// Write this reply. Replies may be batched; flush before acting on any other step, which is
// what makes pipelining work (RFC 2920 §3.1). In LMTP the end of a message is answered once per
// recipient (RFC 2033 §4.2): that many SendReply steps in a row.
struct SendReply {
  Reply reply;
  // Set on the reply that refuses a message the protocol judged itself, for the driver's
  // metrics and log: no AcceptMessage comes for that message. In LMTP, only the first of the
  // message's replies carries it.
  std::optional<MessageRefusal> refused_message;
  friend bool operator==(const SendReply&, const SendReply&) = default;
};

// The next piece of the message content after DATA's 354: dot-unstuffed, CRLF line endings,
// never the final ".\r\n"; at most ProtocolOptions::message_piece_size octets (64 KiB). The
// pieces of one message, joined in order, are its content: AcceptMessage follows the last one.
// When the protocol refuses the message instead (a SendReply with refused_message), the pieces
// already handed over must be dropped.
struct MessageData {
  std::string piece;
  friend bool operator==(const MessageData&, const MessageData&) = default;
};

// No complete command or data is buffered: read more and call Protocol::receive().
struct NeedInput {
  bool message_data = false;  // what is awaited is message content (after 354): the DATA deadline applies
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

// Check this OAuth 2.0 bearer token (AUTH OAUTHBEARER, RFC 7628, or XOAUTH2), then
// Protocol::credentials_checked(). A non-empty `user` is who the client says it is (OAUTHBEARER's
// authzid, XOAUTH2's user): the token's user must be that one. A Refused outcome without a reply
// of its own is answered with RFC 7628's error challenge, then 535.
struct VerifyBearerToken {
  std::string mechanism;  // "OAUTHBEARER" or "XOAUTH2", for the log
  std::string user;
  std::string token;
  friend bool operator==(const VerifyBearerToken&, const VerifyBearerToken&) = default;
};

// May `user` send as `address`? Asked on Submission only. Answer with
// Protocol::sender_checked().
struct CheckSender {
  std::string user;
  std::string address;  // the reverse-path without angle brackets or source route
  friend bool operator==(const CheckSender&, const CheckSender&) = default;
};

// May mail go to `address` (syntactically valid, within the recipient limit)? Asked on
// Submission only with ProtocolOptions::check_recipients, for every recipient on Inbound and
// LMTP; a refusal there should carry the driver's own reply ("554 5.7.1 Relay access denied",
// LMTP's "550 5.1.1 ..."). Answer with Protocol::recipient_checked().
struct CheckRecipient {
  std::string user;     // empty on Inbound and LMTP
  std::string address;  // the forward-path without angle brackets or source route
  friend bool operator==(const CheckRecipient&, const CheckRecipient&) = default;
};

// Filter and queue this message (the content of the MessageData pieces before it), then
// Protocol::message_handled(). Queued once for all its recipients, in LMTP too.
struct AcceptMessage {
  Envelope envelope;
  friend bool operator==(const AcceptMessage&, const AcceptMessage&) = default;
};

// Flush the replies and close the connection.
struct Close {
  friend bool operator==(const Close&, const Close&) = default;
};

using Step = std::variant<SendReply, NeedInput, MessageData, StartTls, VerifyCredentials, VerifyBearerToken,
                          CheckSender, CheckRecipient, AcceptMessage, Close>;

// A service's answer to VerifyCredentials, CheckSender, CheckRecipient or AcceptMessage, handed
// to credentials_checked(), sender_checked(), recipient_checked() or message_handled(). The
// protocol sends its usual reply for the verdict, or `reply` when the service has its own words
// for the client (intake's "250 2.0.0 Ok: queued as ...", a filter's 5xx); that reply should
// agree with the verdict, which alone decides the session's state.
//
//   co_return smtp::Outcome::accepted();
//   co_return smtp::Outcome::authenticated("alice");  // VerifyCredentials: who logged in
//   co_return smtp::Outcome::refused(smtp::Reply::line(550, "5.7.1", "Sender address rejected: ..."));
struct Outcome {
  enum class Verdict {
    Accepted,          // authenticated / sender or recipient allowed / message queued
    Refused,           // bad credentials / sender not granted / recipient or message refused
    TemporaryFailure,  // could not decide (PostgreSQL unreachable): 4xx, never a pass
    TooManyFailures,   // refused, and the session ends with 421
  };

  Verdict verdict = Verdict::TemporaryFailure;  // fails safe when left unset
  std::optional<Reply> reply;
  // Accepted credentials only: the user as the service knows them (normalised: "Alice" is
  // "alice"), the name the session uses from then on for grants, the queue, logs and trace
  // headers. Empty keeps the name as the client sent it.
  std::string identity;

  static Outcome accepted(std::optional<Reply> reply = std::nullopt) {
    return {Verdict::Accepted, std::move(reply), {}};
  }
  static Outcome authenticated(std::string identity, std::optional<Reply> reply = std::nullopt) {
    return {Verdict::Accepted, std::move(reply), std::move(identity)};
  }
  static Outcome refused(std::optional<Reply> reply = std::nullopt) {
    return {Verdict::Refused, std::move(reply), {}};
  }
  static Outcome temporary_failure(std::optional<Reply> reply = std::nullopt) {
    return {Verdict::TemporaryFailure, std::move(reply), {}};
  }
  static Outcome too_many_failures(std::optional<Reply> reply = std::nullopt) {
    return {Verdict::TooManyFailures, std::move(reply), {}};
  }

  friend bool operator==(const Outcome&, const Outcome&) = default;
};

}  // namespace smtp
