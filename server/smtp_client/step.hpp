// What the client protocol asks of its driver: Protocol::next() returns one Step at a time.
// The driver connects on Connect, writes SendCommands, reads on ReadReply, performs the TLS
// handshake on TlsHandshake, streams the message on SendBody, and closes on Close; it answers
// each failure of its own through the matching Protocol call (connect_failed, connection_failed,
// tls_failed). SessionReady, TransactionDone and Idle only inform.
#pragma once

#include "server/smtp_client/result.hpp"

#include <cstdint>
#include <string>
#include <variant>

namespace smtp_client {

// Open the connection, then Protocol::connected() or Protocol::connect_failed().
struct Connect {
  friend bool operator==(const Connect&, const Connect&) = default;
};

// Write these bytes: one command, or a PIPELINING group of MAIL, RCPTs and DATA (RFC 2920).
// On failure: Protocol::connection_failed().
struct SendCommands {
  std::string bytes;
  friend bool operator==(const SendCommands&, const SendCommands&) = default;
};

// Read what the server sends and hand it to Protocol::receive(). The same reply_number comes
// back until that reply is complete: the driver keeps one deadline per reply, so a server that
// trickles bytes cannot extend it. The reply to the end of the message data is when the
// upstream does its work: its deadline is 10 times longer (RFC 5321 §4.5.3.2.6: 10 minutes).
struct ReadReply {
  bool end_of_data = false;
  std::uint64_t reply_number = 0;
  friend bool operator==(const ReadReply&, const ReadReply&) = default;
};

// Do the TLS handshake now (implicit TLS, or after the 220 to STARTTLS), with the peer
// verification the upstream asks for; then Protocol::tls_started() or Protocol::tls_failed().
struct TlsHandshake {
  friend bool operator==(const TlsHandshake&, const TlsHandshake&) = default;
};

// The 354 came: write Protocol::body_piece() of each piece of the message, then
// Protocol::body_end(). Returned again until body_end() is called.
struct SendBody {
  friend bool operator==(const SendBody&, const SendBody&) = default;
};

// The session is set up (greeted, TLS, AUTH): worth a log line; nothing to answer.
struct SessionReady {
  std::string auth_mechanism;  // "PLAIN", "LOGIN", or "" without AUTH
  bool pipelining = false;
  friend bool operator==(const SessionReady&, const SessionReady&) = default;
};

// The transaction begun with Protocol::begin() is over.
struct TransactionDone {
  TransactionResult result;
  friend bool operator==(const TransactionDone&, const TransactionDone&) = default;
};

// Nothing to do: the session waits for Protocol::begin() or Protocol::quit().
struct Idle {
  friend bool operator==(const Idle&, const Idle&) = default;
};

// Close the connection: polite after QUIT (say goodbye to TLS too), else hang up at once.
// Returned again on every later call.
struct Close {
  bool polite = false;
  friend bool operator==(const Close&, const Close&) = default;
};

using Step =
    std::variant<Connect, SendCommands, ReadReply, TlsHandshake, SendBody, SessionReady, TransactionDone, Idle, Close>;

}  // namespace smtp_client
