// One POP3 login (RFC 1939) as a pure state machine, the POP3 sibling of
// server/smtp_client/protocol.hpp: no sockets, clocks, threads or files. POP before SMTP needs
// nothing but the login, so a session is: connect, greeting, CAPA (RFC 2449), STLS and CAPA
// again when asked (RFC 2595 §4: what was offered before TLS is forgotten), the login, QUIT.
// The driver (server/delivery/pop_before_smtp.hpp) calls next() and acts on each Step
// (step.hpp) until Close; it hands what it reads to receive(bytes) and reports its own failures
// with connect_failed(), connection_failed() and tls_failed().
//
//   Protocol protocol{options};
//   for (;;) { Step step = protocol.next(); ... }   // LoginDone once, then Close
//
// The login is SASL PLAIN through AUTH (RFC 5034, with the initial response when the command
// fits in 255 octets, RFC 2449 §4) when the server lists it, else USER and PASS; a server that
// answers CAPA with -ERR is an RFC 1939 server and gets USER and PASS. StartTls requires STLS
// (never a plaintext fallback); ImplicitTls does TLS from the first byte (RFC 8314). Every
// failure text names the server ("timed out waiting for a response (pop.example:995)"); the
// session says QUIT when it is still sound and hangs up when it is not. The password goes out
// only in the login command, never into a result.
#pragma once

#include "server/pop3_client/capabilities.hpp"
#include "server/pop3_client/response_reader.hpp"
#include "server/pop3_client/result.hpp"
#include "server/pop3_client/step.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace pop3_client {

enum class Security {
  None,         // plaintext throughout
  StartTls,     // plaintext, then STLS (RFC 2595), required
  ImplicitTls,  // TLS from the first byte (RFC 8314, port 995)
};

struct LoginOptions {
  std::string peer = "localhost:110";  // "host:port", as every failure text names the server
  Security security = Security::ImplicitTls;
  std::string username;  // required; neither may hold CR, LF or NUL
  std::string password;
};

// How an I/O operation of the driver failed.
enum class IoFailure {
  Timeout,  // its deadline passed
  Closed,   // end of stream (or a TLS stream cut short)
  Error,    // anything else: detail says what ("Connection reset by peer")
};

class Protocol {
 public:
  explicit Protocol(LoginOptions options);

  // The next thing the driver must do.
  Step next();

  // Answers Connect. text: the driver's account of the failure ("connect to pop.example:995
  // failed: Connection refused"), used as is.
  void connected();
  void connect_failed(std::string text);

  // Bytes read from the server, after ReadResponse.
  void receive(std::string_view bytes);

  // Answers TlsHandshake. detail: "certificate verify failed (self-signed certificate)".
  void tls_started();
  void tls_failed(std::string_view detail);

  // A write (SendCommand) or a read (ReadResponse) failed. detail only for Error.
  void connection_failed(IoFailure failure, std::string_view detail = {});

  const Capabilities& capabilities() const { return capabilities_; }

 private:
  enum class Phase {
    Connecting,         // Connect handed out
    Handshaking,        // TlsHandshake handed out
    Greeting,
    Capa,               // CAPA sent, its status line expected
    CapaList,           // the lines of the CAPA list, up to "."
    Stls,               // STLS sent
    AuthPlain,          // AUTH PLAIN with its initial response sent
    AuthPlainAsked,     // AUTH PLAIN without it sent: "+ " expected
    AuthPlainResponse,  // the response sent after "+ "
    AuthCancel,         // "*" sent to end an exchange that went wrong (RFC 5034 §4)
    User,               // USER sent
    Pass,               // PASS sent
    Quit,               // QUIT sent
    Closed,
  };

  void handle(const std::string& line);
  void capa_line(std::string_view line);
  void greeting(Status status, const std::string& line);
  void capa(Status status);
  void after_capa();
  void stls(Status status, const std::string& line);
  void start_login();
  std::string plain_response() const;
  std::string shown(std::string_view line) const;
  void auth_plain(Status status, const std::string& line);
  void user(Status status, const std::string& line);
  void logged_in(const std::string& line);
  void refused(const std::string& line);

  void send(std::string bytes);
  void send_capa();
  void finish(LoginOutcome outcome, std::string text, std::string reply = {});
  void fail_and_quit(std::string text, const std::string& line = {});
  void lost(std::string text);
  void quit();
  void hang_up();

  LoginOptions options_;
  Phase phase_ = Phase::Connecting;
  bool sending_ = false;  // what the driver was doing when an I/O failure comes: writing, or reading
  std::deque<Step> outbox_;
  ResponseReader reader_;
  std::uint64_t responses_ = 0;  // complete responses handled, for ReadResponse::response_number
  std::size_t capa_lines_ = 0;
  Capabilities capabilities_;
  std::string mechanism_;
  std::optional<std::string> cancelled_;  // the failure reported once the reply to "*" is in
  bool greeted_ = false;
  bool tls_active_ = false;
  bool done_ = false;  // LoginDone handed out
  bool polite_close_ = false;
};

}  // namespace pop3_client
