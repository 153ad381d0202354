// See protocol.hpp.
#include "server/pop3_client/protocol.hpp"

#include "server/smtp/base64.hpp"

#include <utility>

namespace pop3_client {
namespace {

// RFC 2449 §4: a command line is at most 255 octets, CRLF included. An AUTH PLAIN whose initial
// response would exceed it sends the response after the server's "+ " instead (RFC 5034 §4).
constexpr std::size_t kMaxCommandLine = 255;
constexpr std::size_t kMaxCapaLines = 256;

bool holds_line_break(std::string_view text) { return text.find_first_of(std::string_view("\r\n\0", 3)) != text.npos; }

void replace_all(std::string& text, std::string_view secret) {
  if (secret.empty()) return;
  for (std::size_t at = text.find(secret); at != text.npos; at = text.find(secret, at + 3)) {
    text.replace(at, secret.size(), "***");
  }
}

}  // namespace

Protocol::Protocol(LoginOptions options) : options_(std::move(options)) {
  // Refused before connecting: a line break in either would end the command early, and the
  // rest would go to the server as a command of its own.
  if (options_.username.empty()) {
    lost("no POP3 username for " + options_.peer);
  } else if (holds_line_break(options_.username) || holds_line_break(options_.password)) {
    lost("the POP3 username or password for " + options_.peer + " holds a line break or NUL");
  }
}

Step Protocol::next() {
  for (;;) {
    if (!outbox_.empty()) {
      Step step = std::move(outbox_.front());
      outbox_.pop_front();
      if (std::holds_alternative<SendCommand>(step)) sending_ = true;
      return step;
    }
    switch (phase_) {
      case Phase::Connecting:
        return Connect{};
      case Phase::Handshaking:
        return TlsHandshake{};
      case Phase::Closed:
        return Close{polite_close_};
      default:  // a response is expected
        break;
    }
    if (auto line = reader_.next()) {
      handle(*line);
      continue;
    }
    if (reader_.failed()) {
      lost("protocol error from " + options_.peer + ": " + reader_.error());
      continue;
    }
    sending_ = false;
    return ReadResponse{responses_};
  }
}

void Protocol::connected() {
  if (phase_ != Phase::Connecting) return;
  phase_ = options_.security == Security::ImplicitTls ? Phase::Handshaking : Phase::Greeting;
}

void Protocol::connect_failed(std::string text) {
  if (phase_ == Phase::Connecting) lost(std::move(text));
}

void Protocol::receive(std::string_view bytes) { reader_.feed(bytes); }

void Protocol::tls_started() {
  if (phase_ != Phase::Handshaking) return;
  tls_active_ = true;
  reader_ = ResponseReader{};
  // Implicit TLS: the greeting comes now. STLS: what CAPA said in plaintext is void.
  if (!greeted_) phase_ = Phase::Greeting;
  else send_capa();
}

void Protocol::tls_failed(std::string_view detail) {
  if (phase_ == Phase::Handshaking) lost("TLS handshake with " + options_.peer + " failed: " + std::string(detail));
}

void Protocol::connection_failed(IoFailure failure, std::string_view detail) {
  if (phase_ == Phase::Closed) return;
  const std::string what = sending_ ? "sending a command" : "waiting for a response";
  const std::string& peer = options_.peer;
  switch (failure) {
    case IoFailure::Timeout:
      return lost("timed out " + what + " (" + peer + ")");
    case IoFailure::Closed:
      return lost(peer + " closed the connection while " + what);
    case IoFailure::Error:
      return lost("connection to " + peer + " failed while " + what + ": " + std::string(detail));
  }
}

void Protocol::handle(const std::string& line) {
  if (phase_ == Phase::CapaList) return capa_line(line);
  const std::optional<Status> status = status_of(line);
  const bool sasl = phase_ == Phase::AuthPlain || phase_ == Phase::AuthPlainAsked ||
                    phase_ == Phase::AuthPlainResponse || phase_ == Phase::AuthCancel;
  if (!status || (*status == Status::Continue && !sasl)) {
    return lost("protocol error from " + options_.peer + ": malformed response \"" + shown(line).substr(0, 40) + "\"");
  }
  if (phase_ != Phase::Capa || *status != Status::Ok) ++responses_;  // a CAPA list ends at its "."
  switch (phase_) {
    case Phase::Greeting:
      return greeting(*status, line);
    case Phase::Capa:
      return capa(*status);
    case Phase::Stls:
      return stls(*status, line);
    case Phase::AuthPlain:
    case Phase::AuthPlainAsked:
    case Phase::AuthPlainResponse:
      return auth_plain(*status, line);
    case Phase::AuthCancel:  // whatever it says, the exchange failed as decided before
      return fail_and_quit(std::exchange(cancelled_, std::nullopt).value_or(""));
    case Phase::User:
    case Phase::Pass:
      return user(*status, line);
    case Phase::Quit:
      phase_ = Phase::Closed;
      polite_close_ = true;
      return;
    default:  // next() reads responses only in the phases above
      return;
  }
}

// One line of the CAPA list: "." ends it, a leading "." of any other line is byte-stuffing.
void Protocol::capa_line(std::string_view line) {
  if (line == ".") {
    ++responses_;
    return after_capa();
  }
  if (++capa_lines_ > kMaxCapaLines) {
    return lost("protocol error from " + options_.peer + ": CAPA list longer than " + std::to_string(kMaxCapaLines) +
                " lines");
  }
  if (line.starts_with('.')) line.remove_prefix(1);
  capabilities_.add(line);
}

void Protocol::greeting(Status status, const std::string& line) {
  if (status != Status::Ok) {
    finish(LoginOutcome::Failed, "POP3 server " + options_.peer + " refused the session: " + shown(line),
           shown(line));
    return hang_up();
  }
  greeted_ = true;
  send_capa();
}

void Protocol::send_capa() {
  capabilities_ = {};
  capa_lines_ = 0;
  send("CAPA\r\n");
  phase_ = Phase::Capa;
}

void Protocol::capa(Status status) {
  if (status == Status::Ok) {
    capabilities_.known = true;
    phase_ = Phase::CapaList;
    return;
  }
  after_capa();  // an RFC 1939 server: nothing is known
}

void Protocol::after_capa() {
  if (options_.security == Security::StartTls && !tls_active_) {
    // Required: a server without STLS never gets the password in plaintext.
    if (!capabilities_.stls) return fail_and_quit("POP3 server " + options_.peer + " does not offer STLS");
    send("STLS\r\n");
    phase_ = Phase::Stls;
    return;
  }
  start_login();
}

void Protocol::stls(Status status, const std::string& line) {
  if (status != Status::Ok) {
    return fail_and_quit("POP3 server " + options_.peer + " refused STLS: " + shown(line), line);
  }
  // Anything after the +OK came in plaintext before the handshake and could be taken for a
  // response under TLS.
  if (reader_.has_pending()) return lost("POP3 server " + options_.peer + " sent data after its STLS response");
  phase_ = Phase::Handshaking;
}

void Protocol::start_login() {
  if (capabilities_.offers_sasl("PLAIN")) {
    mechanism_ = "PLAIN";
    std::string command = "AUTH PLAIN " + plain_response() + "\r\n";
    if (command.size() <= kMaxCommandLine) {
      send(std::move(command));
      phase_ = Phase::AuthPlain;
    } else {
      send("AUTH PLAIN\r\n");
      phase_ = Phase::AuthPlainAsked;
    }
    return;
  }
  if (!capabilities_.known || capabilities_.user) {
    mechanism_ = "USER";
    send("USER " + options_.username + "\r\n");
    phase_ = Phase::User;
    return;
  }
  std::string offered;
  for (const auto& mechanism : capabilities_.sasl) offered += (offered.empty() ? "" : " ") + mechanism;
  fail_and_quit("POP3 server " + options_.peer + " offers neither SASL PLAIN nor USER" +
                (offered.empty() ? std::string() : " (only SASL " + offered + ")"));
}

// A server's line for a text: printable, and without the credentials, which a server that does
// not understand a command may echo in its -ERR.
std::string Protocol::shown(std::string_view line) const {
  std::string text(line);
  replace_all(text, options_.password);
  replace_all(text, plain_response());
  return printable(text);
}

// RFC 4616 §2: authzid NUL authcid NUL password, base64 (RFC 5034 §4).
std::string Protocol::plain_response() const {
  std::string token;
  token.push_back('\0');
  token += options_.username;
  token.push_back('\0');
  token += options_.password;
  return smtp::base64_encode(token);
}

void Protocol::auth_plain(Status status, const std::string& line) {
  if (status == Status::Continue && phase_ == Phase::AuthPlainAsked) {
    send(plain_response() + "\r\n");
    phase_ = Phase::AuthPlainResponse;
    return;
  }
  if (status == Status::Continue) {  // a challenge after the whole response: give up
    send("*\r\n");
    cancelled_ = "POP3 server " + options_.peer + " sent an unexpected AUTH PLAIN challenge";
    phase_ = Phase::AuthCancel;
    return;
  }
  if (status == Status::Err) return refused(line);
  if (phase_ == Phase::AuthPlainAsked) {  // +OK before any credentials: not a login to trust
    return lost("protocol error from " + options_.peer + ": +OK to AUTH PLAIN before the credentials");
  }
  logged_in(line);
}

void Protocol::user(Status status, const std::string& line) {
  if (status == Status::Err) return refused(line);
  if (phase_ == Phase::Pass) return logged_in(line);
  send("PASS " + options_.password + "\r\n");
  phase_ = Phase::Pass;
}

void Protocol::logged_in(const std::string& line) {
  finish(LoginOutcome::LoggedIn, "", shown(line));
  quit();
}

void Protocol::refused(const std::string& line) {
  finish(LoginOutcome::Refused, "POP3 login to " + options_.peer + " refused: " + shown(line), shown(line));
  quit();
}

void Protocol::send(std::string bytes) { outbox_.push_back(SendCommand{std::move(bytes)}); }

void Protocol::finish(LoginOutcome outcome, std::string text, std::string reply) {
  if (done_) return;
  done_ = true;
  outbox_.push_back(LoginDone{LoginResult{outcome, mechanism_, std::move(reply), std::move(text)}});
}

// A failure on a sound connection: said goodbye to.
void Protocol::fail_and_quit(std::string text, const std::string& line) {
  finish(LoginOutcome::Failed, std::move(text), line.empty() ? std::string() : shown(line));
  quit();
}

// The connection is gone (or speaks garbage): nothing more is sent on it.
void Protocol::lost(std::string text) {
  finish(LoginOutcome::Failed, std::move(text));
  hang_up();
}

void Protocol::quit() {
  send("QUIT\r\n");
  phase_ = Phase::Quit;
}

void Protocol::hang_up() {
  phase_ = Phase::Closed;
  polite_close_ = false;
}

}  // namespace pop3_client
