// What one POP3 login came to. For POP before SMTP the login is all that is wanted: logged in,
// refused by the server (its -ERR to USER, PASS or AUTH: wrong credentials, a locked account,
// plaintext logins disallowed), or failed on the way (resolve, connect, TLS, no STLS or no way to
// log in offered, a server that times out, hangs up or speaks garbage). Protocol::next() hands it
// over in LoginDone (step.hpp). Never holds the password.
#pragma once

#include <string>

namespace pop3_client {

enum class LoginOutcome { LoggedIn, Refused, Failed };

struct LoginResult {
  LoginOutcome outcome = LoginOutcome::Failed;
  std::string mechanism;  // "PLAIN" (SASL, RFC 5034), "USER" (USER/PASS, RFC 1939); "" when none was tried
  // The server's response that decided, printable ("-ERR [AUTH] Authentication failed."); ""
  // when the outcome came from the driver (connect, TLS, I/O) rather than from a response.
  std::string reply;
  // For logs and the queue, naming the server: "POP3 login to pop.example:995 refused: -ERR
  // [AUTH] Authentication failed.", "timed out waiting for a response (pop.example:995)". ""
  // when logged in.
  std::string text;

  bool logged_in() const { return outcome == LoginOutcome::LoggedIn; }
  friend bool operator==(const LoginResult&, const LoginResult&) = default;
};

}  // namespace pop3_client
