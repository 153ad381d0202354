// One SMTP submission session (RFC 5321, RFC 6409) as a pure state machine: bytes in, steps
// out, no I/O. The driver appends what it reads with receive(bytes) and then calls next()
// until it returns NeedInput or Close, acting on each Step (see step.hpp):
//
//   proto.receive(bytes);
//   for (;;) { Step s = proto.next(); ... }
//
// An asynchronous step is answered with tls_started() (StartTls) or with the service's
// smtp::Outcome through credentials_checked(), sender_checked() or message_handled()
// (VerifyCredentials, CheckSender, AcceptMessage); until then next() processes no input and
// returns the same step again — calling it then is a driver bug.
//
// Message content never accumulates here: it leaves in MessageData pieces as it is read, so
// what the protocol holds is bounded by one piece plus the bytes of one read.
//
// Session policy lives here, not in the driver: AUTH only under TLS unless auth_without_tls;
// STARTTLS forgets everything received before the handshake (RFC 3207 §4.2); malformed lines
// and message bodies are refused (SMTP smuggling); HTTP requests and too many errors end the
// session with 421. The driver never sees command lines, only steps, so AUTH data cannot reach
// its logs: the credentials leave the protocol only in VerifyCredentials.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/smtp/data_reader.hpp"
#include "server/smtp/envelope_syntax.hpp"
#include "server/smtp/line_reader.hpp"
#include "server/smtp/reply.hpp"
#include "server/smtp/step.hpp"

namespace smtp {

struct ProtocolOptions {
  std::string hostname = "localhost";              // in the greeting and the EHLO reply
  std::size_t max_message_size = 25 * 1024 * 1024;  // octets of unstuffed content (RFC 1870)
  std::size_t message_piece_size = kMessagePieceSize;  // MessageData's bound; tests make it small
  std::size_t max_recipients = 100;
  int max_errors = 5;             // 5xx replies, whatever their cause, before "421 Too many errors"
  // NOOP, RSET, VRFY, HELP, EXPN and refused RCPTs between two accepted messages, before
  // "421 Too many commands without mail": nobody holds a connection with them.
  int max_idle_commands = 30;
  bool tls_available = false;     // a certificate is configured: offer STARTTLS
  bool tls_active = false;        // implicit TLS listener: the session starts encrypted
  bool auth_without_tls = false;  // allow AUTH in plaintext (the driver sets it for loopback)
  bool check_recipients = false;  // ask the driver about each recipient (CheckRecipient)
};

class Protocol {
 public:
  explicit Protocol(ProtocolOptions options);

  // Appends bytes read from the client. Ignored once the session is closing.
  void receive(std::string_view bytes);

  // The next thing the driver must do. The first call yields the 220 greeting.
  Step next();

  // The TLS handshake requested by StartTls succeeded. Drops every byte received before it
  // and starts over as if just greeted: the client must EHLO and AUTH again (RFC 3207 §4.2).
  void tls_started();

  // Answers VerifyCredentials: Accepted authenticates the user (235) under the outcome's
  // identity (the service's normalised name) when it has one; Refused is 535, TemporaryFailure
  // 454, TooManyFailures 421 and the end of the session.
  void credentials_checked(Outcome outcome);

  // Answers CheckSender: Accepted starts the transaction (250); Refused is 553,
  // TemporaryFailure 451 (never accept unchecked), TooManyFailures 421.
  void sender_checked(Outcome outcome);

  // Answers CheckRecipient: Accepted adds the recipient (250); Refused is 550, TemporaryFailure
  // 451 (or the outcome's own reply), both counted as non-productive commands; TooManyFailures
  // 421.
  void recipient_checked(Outcome outcome);

  // Answers AcceptMessage, usually with the service's own reply ("250 2.0.0 Ok: queued as
  // ..."); whatever the verdict, the transaction ends and the user stays authenticated.
  void message_handled(Outcome outcome);

  // Bytes received and not yet processed; bounded by one line when the driver only reads on
  // NeedInput.
  std::size_t buffered_bytes() const { return input_.size() - input_pos_; }

  // Empty until AUTH succeeds; then the identity the credential check gave.
  const std::string& authenticated_user() const { return user_; }

  bool tls_active() const { return tls_active_; }

 private:
  // What the next input bytes are.
  enum class InputMode { Commands, AuthResponse, MessageData };
  // Which SASL response an AuthResponse line carries.
  enum class SaslStage { PlainMessage, LoginUsername, LoginPassword };

  struct Transaction {
    std::string mail_from;
    MailParameters parameters;
    std::vector<std::string> recipients;
  };

  bool process_input();
  void refuse_line(std::string_view reply_text);
  void handle_command(std::string_view line);
  void finish_message();

  // Counts one non-productive command; past the limit, says 421 and returns true.
  bool over_idle_limit();
  void refuse_recipient(int code, std::string_view enhanced, std::string_view text);
  void send(Reply reply, std::optional<MessageRefusal> refused_message = std::nullopt);
  void send(int code, std::string_view enhanced, std::string_view text);
  void await(Step step, Step repeat);
  void close();

  // One method per verb (protocol_verbs.cpp, protocol_auth.cpp); each checks its own
  // preconditions and sends its replies.
  void ehlo(std::string_view argument);
  void helo(std::string_view argument);
  void starttls(std::string_view argument);
  void auth(std::string_view argument);
  void auth_response(std::string_view line);
  void mail(std::string_view argument);
  void rcpt(std::string_view argument);
  void data(std::string_view argument);
  void rset(std::string_view argument);
  void noop(std::string_view argument);
  void quit(std::string_view argument);
  void vrfy(std::string_view argument);
  void help(std::string_view argument);
  void expn(std::string_view argument);

  void verify_plain(std::string_view message);
  void verify_login(std::string_view password);

  ProtocolOptions options_;

  std::string input_;
  std::size_t input_pos_ = 0;
  LineReader line_reader_;
  InputMode input_mode_ = InputMode::Commands;
  std::optional<DataReader> data_reader_;

  std::deque<Step> outbox_;
  std::optional<Step> awaiting_;  // the unanswered asynchronous step, as next() repeats it
  bool closed_ = false;

  bool tls_active_;
  bool greeted_ = false;  // EHLO or HELO seen
  bool extended_ = false;  // it was EHLO
  std::string helo_;
  std::string user_;
  SaslStage sasl_stage_ = SaslStage::PlainMessage;
  std::string login_username_;
  std::optional<Transaction> sender_under_check_;
  std::optional<Transaction> transaction_;
  int errors_ = 0;
  int idle_commands_ = 0;  // non-productive commands since the last accepted message
};

}  // namespace smtp
