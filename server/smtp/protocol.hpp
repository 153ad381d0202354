// One SMTP session (RFC 5321) as a pure state machine: bytes in, steps out, no I/O. The driver
// appends what it reads with receive(bytes) and then calls next() until it returns NeedInput or
// Close, acting on each Step (see step.hpp):
//
//   proto.receive(bytes);
//   for (;;) { Step s = proto.next(); ... }
//
// An asynchronous step is answered with tls_started() (StartTls) or with the service's
// smtp::Outcome through credentials_checked(), sender_checked(), recipient_checked() or
// message_handled() (VerifyCredentials or VerifyBearerToken, CheckSender, CheckRecipient,
// AcceptMessage); until then next() processes no input and returns the same step again —
// calling it then is a driver bug.
//
// One protocol, three services (ProtocolOptions::service):
//   Submission (RFC 6409)  users AUTH, then may send as the addresses they are granted
//                          (CheckSender) to anyone, unless check_recipients says otherwise;
//                          the null reverse-path is refused.
//   Inbound                a port-25 listener for the domains Postern serves: no AUTH at all,
//                          any sender (the null reverse-path too, for bounces), and every
//                          recipient is asked of the driver (CheckRecipient), which refuses
//                          the domains it does not serve.
//   Lmtp (RFC 2033)        Inbound's policy behind LHLO instead of EHLO/HELO; after the message
//                          one reply per accepted recipient, in RCPT order.
//
// Message content never accumulates here: it leaves in MessageData pieces as it is read, so
// what the protocol holds is bounded by one piece plus the bytes of one read.
//
// Session policy lives here, not in the driver: AUTH only under TLS unless auth_without_tls;
// STARTTLS forgets everything received before the handshake (RFC 3207 §4.2); malformed lines
// and message bodies are refused (SMTP smuggling); HTTP requests and too many errors end the
// session with 421. The driver never sees command lines, only steps, so AUTH data cannot reach
// its logs: the credentials leave the protocol only in VerifyCredentials and VerifyBearerToken.
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
  // What the listener is for (see the top of this file).
  enum class Service { Submission, Inbound, Lmtp };

  Service service = Service::Submission;
  std::string hostname = "localhost";              // in the greeting and the EHLO/LHLO reply
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
  // Offer OAUTHBEARER and XOAUTH2 next to PLAIN and LOGIN (oauth: is configured). `oauth_scope`
  // goes into the error that refuses a token (RFC 7628 §3.2.2); "" leaves it out.
  bool offer_oauth = false;
  std::string oauth_scope;
  // Ask the driver about each recipient (CheckRecipient). Submission only: Inbound and LMTP
  // always ask, as the recipients are what they accept mail for.
  bool check_recipients = false;
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

  // Answers VerifyCredentials and VerifyBearerToken: Accepted authenticates the user (235) under
  // the outcome's identity (the service's normalised name) when it has one; Refused is 535 (for a
  // token, after RFC 7628's error challenge and the client's answer to it), TemporaryFailure
  // 454, TooManyFailures 421 and the end of the session.
  void credentials_checked(Outcome outcome);

  // Answers CheckSender (Submission only): Accepted starts the transaction (250); Refused is
  // 553, TemporaryFailure 451 (never accept unchecked), TooManyFailures 421.
  void sender_checked(Outcome outcome);

  // Answers CheckRecipient: Accepted adds the recipient (250); Refused is 550, TemporaryFailure
  // 451 (or the outcome's own reply, such as Inbound's "554 5.7.1 Relay access denied"), both
  // counted as non-productive commands; TooManyFailures 421.
  void recipient_checked(Outcome outcome);

  // Answers AcceptMessage, usually with the service's own reply ("250 2.0.0 Ok: queued as
  // ..."); whatever the verdict, the transaction ends and the user stays authenticated. In LMTP
  // the reply goes once per recipient of the message (RFC 2033 §4.2).
  void message_handled(Outcome outcome);

  // Bytes received and not yet processed; bounded by one line when the driver only reads on
  // NeedInput.
  std::size_t buffered_bytes() const { return input_.size() - input_pos_; }

  // Empty until AUTH succeeds; then the identity the credential check gave. Always empty on
  // Inbound and LMTP, which have no AUTH.
  const std::string& authenticated_user() const { return user_; }

  bool tls_active() const { return tls_active_; }

 private:
  // What the next input bytes are.
  enum class InputMode { Commands, AuthResponse, MessageData };
  // Which SASL response an AuthResponse line carries.
  enum class SaslStage {
    PlainMessage,
    LoginUsername,
    LoginPassword,
    OAuthBearerMessage,
    XOAuth2Message,
    BearerRefused,  // the error challenge was sent: whatever the client answers gets 535
  };

  struct Transaction {
    std::string mail_from;
    MailParameters parameters;
    std::vector<std::string> recipients;
  };

  // The service's policy, asked wherever it makes a difference (see the top of this file).
  bool requires_auth() const;          // there is AUTH, and MAIL needs it first
  bool offers_auth() const;            // EHLO advertises AUTH, which may be used now
  bool asks_sender_check() const;      // MAIL waits for CheckSender
  bool asks_recipient_check() const;   // RCPT waits for CheckRecipient
  bool speaks_lmtp() const;            // LHLO, not EHLO/HELO; a reply per recipient after DATA
  std::string_view hello_verb() const;  // "EHLO" or "LHLO", for the replies that ask for it

  bool process_input();
  void refuse_line(std::string_view reply_text);
  void handle_command(std::string_view line);
  void finish_message();

  // Counts one non-productive command; past the limit, says 421 and returns true.
  bool over_idle_limit();
  void refuse_recipient(int code, std::string_view enhanced, std::string_view text);
  void send(Reply reply);
  void send(int code, std::string_view enhanced, std::string_view text);
  void send_message_reply(Reply reply, std::size_t recipients,
                          std::optional<MessageRefusal> refused_message = std::nullopt);
  void count_reply(int code);
  void await(Step step, Step repeat);
  void close();

  // One method per verb (protocol_verbs.cpp, protocol_auth.cpp); each checks its own
  // preconditions and sends its replies.
  void ehlo(std::string_view argument);
  void lhlo(std::string_view argument);
  void extended_hello(std::string_view verb, std::string_view argument);
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
  // Starts OAUTHBEARER or XOAUTH2 (`stage` says which) with its initial response, or with an
  // empty challenge when it has none.
  void start_bearer(SaslStage stage, const std::vector<std::string_view>& words);
  void verify_bearer(SaslStage stage, std::string_view message);
  void refuse_bearer_token();

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
  bool greeted_ = false;  // EHLO, HELO or LHLO seen
  bool extended_ = false;  // it was EHLO or LHLO
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
