// What the POP3 client protocol asks of its driver: Protocol::next() returns one Step at a time.
// The driver connects on Connect, writes SendCommand, reads on ReadResponse, performs the TLS
// handshake on TlsHandshake and closes on Close; it answers each failure of its own through the
// matching Protocol call (connect_failed, connection_failed, tls_failed). LoginDone only informs:
// it comes once per session, as soon as the login's outcome is known, before the QUIT.
#pragma once

#include "server/pop3_client/result.hpp"

#include <cstdint>
#include <string>
#include <variant>

namespace pop3_client {

// Open the connection, then Protocol::connected() or Protocol::connect_failed().
struct Connect {
  friend bool operator==(const Connect&, const Connect&) = default;
};

// Write these bytes: one command line. They may hold the password (PASS, AUTH PLAIN): never log
// them. On failure: Protocol::connection_failed().
struct SendCommand {
  std::string bytes;
  friend bool operator==(const SendCommand&, const SendCommand&) = default;
};

// Read what the server sends and hand it to Protocol::receive(). The same response_number comes
// back until that response (a CAPA list with all its lines) is complete: the driver keeps one
// deadline per response, so a server that trickles bytes cannot extend it.
struct ReadResponse {
  std::uint64_t response_number = 0;
  friend bool operator==(const ReadResponse&, const ReadResponse&) = default;
};

// Do the TLS handshake now (implicit TLS, or after the +OK to STLS), with the peer verification
// the configuration asks for; then Protocol::tls_started() or Protocol::tls_failed().
struct TlsHandshake {
  friend bool operator==(const TlsHandshake&, const TlsHandshake&) = default;
};

// The login's outcome; the session then says QUIT (or hangs up) and closes.
struct LoginDone {
  LoginResult result;
  friend bool operator==(const LoginDone&, const LoginDone&) = default;
};

// Close the connection: polite after QUIT (say goodbye to TLS too), else hang up at once.
// Returned again on every later call.
struct Close {
  bool polite = false;
  friend bool operator==(const Close&, const Close&) = default;
};

using Step = std::variant<Connect, SendCommand, ReadResponse, TlsHandshake, LoginDone, Close>;

}  // namespace pop3_client
