// One SMTP client session with an upstream (RFC 5321, RFC 6409 submission) as a pure state
// machine, the mirror of server/smtp/protocol.hpp: no sockets, clocks, threads or files. The
// driver (server/delivery/upstream_session.hpp) starts a transaction with begin(envelope), then
// calls next() and acts on each Step (step.hpp) until TransactionDone; it hands what it reads
// to receive(bytes) and reports its own failures with connect_failed(), connection_failed() and
// tls_failed(). The same session carries the next begin() while it is reusable(); quit() ends it.
//
//   Protocol protocol{options};
//   protocol.begin(envelope);
//   for (;;) { Step step = protocol.next(); ... }   // until TransactionDone
//
// A new session connects, takes the greeting, says EHLO (HELO when EHLO gets a 5xx), does
// STARTTLS when asked (required: never a plaintext fallback), AUTH PLAIN or LOGIN when it has a
// username, then runs the transaction: MAIL FROM (SIZE=, BODY=8BITMIME, SMTPUTF8), RCPT TO for
// each recipient, DATA and the dot-stuffed body; with PIPELINING, MAIL, the RCPTs and DATA go
// out as one write (RFC 2920). Every failure ends the transaction with a result whose texts
// name the peer ("timed out waiting for a reply (mx.example:587)"); a session that cannot go on
// says QUIT when it is still sound and hangs up when it is not (421, I/O failure, garbage).
#pragma once

#include "server/smtp_client/capabilities.hpp"
#include "server/smtp_client/dot_stuffer.hpp"
#include "server/smtp_client/reply_reader.hpp"
#include "server/smtp_client/result.hpp"
#include "server/smtp_client/step.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smtp_client {

enum class Security {
  None,         // plaintext throughout
  StartTls,     // plaintext, then STARTTLS (RFC 3207), required
  ImplicitTls,  // TLS from the first byte (RFC 8314, port 465)
};

struct ProtocolOptions {
  std::string peer = "localhost:25";  // "host:port", as every failure text names the upstream
  std::string ehlo_name = "localhost";
  Security security = Security::StartTls;
  std::string username;  // empty: no AUTH
  std::string password;
};

// One message's envelope.
struct Envelope {
  std::string sender;                   // MAIL FROM; "" = null sender (DSNs)
  std::vector<std::string> recipients;  // RCPT TO, in order
  std::uint64_t size = 0;               // DotStuffer::size_as_sent() of the body, for SIZE=
  bool eight_bit_mime = false;          // add BODY=8BITMIME when the server offers 8BITMIME
  bool smtputf8 = false;                // add SMTPUTF8 (fail permanently 5.6.7 if not offered)
};

// How an I/O operation of the driver failed.
enum class IoFailure {
  Timeout,  // its deadline passed
  Closed,   // end of stream (or a TLS stream cut short)
  Error,    // anything else: detail says what ("Connection reset by peer")
};

enum class ConnectFailure { Resolve, Connect };

class Protocol {
 public:
  explicit Protocol(ProtocolOptions options);

  // Starts a transaction: on a new session after connecting and setting it up, on a reusable
  // one at once. On any other session it ends at once with a temporary failure.
  void begin(Envelope envelope);

  // Ends the session: QUIT and a polite Close when it is between transactions, a hang-up when
  // it is broken, not connected, or in the middle of a transaction (which then yields no result).
  void quit();

  // The next thing the driver must do.
  Step next();

  // Answers Connect. text: the driver's account of the failure ("connect to mx.example:587
  // failed: Connection refused", "cannot resolve mx.example: Host not found"), used as is.
  void connected();
  void connect_failed(ConnectFailure failure, std::string text);

  // Bytes read from the server, after ReadReply.
  void receive(std::string_view bytes);

  // Answers TlsHandshake. detail: "certificate verify failed (self-signed certificate)".
  void tls_started();
  void tls_failed(std::string_view detail);

  // A write (SendCommands, the body) or a read (ReadReply) failed. detail only for Error.
  void connection_failed(IoFailure failure, std::string_view detail = {});

  // After SendBody: the dot-stuffed bytes to write for the next piece of the raw message, and
  // once the whole message went through body_piece(), those of its end. Empty at other times.
  std::string body_piece(std::string_view raw);
  std::string body_end();

  // Between transactions on a healthy session: begin() may be called.
  bool reusable() const { return phase_ == Phase::Idle; }
  // Transactions this session has carried to the end of DATA, for the log.
  unsigned transactions() const { return transactions_; }
  const Capabilities& capabilities() const { return capabilities_; }

 private:
  enum class Phase {
    New,          // not connected; begin() connects
    Connecting,   // Connect handed out
    Handshaking,  // TlsHandshake handed out
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    AuthPlain,          // AUTH PLAIN with its initial response sent
    AuthLogin,          // AUTH LOGIN sent
    AuthLoginUsername,  // the username sent
    AuthLoginPassword,  // the password sent
    AuthCancel,         // "*" sent to end an exchange that went wrong
    Idle,
    Mail,        // MAIL (or the whole PIPELINING group) sent, its reply expected
    Recipients,  // RCPT replies expected
    Data,        // DATA's reply expected
    Body,        // SendBody handed out
    EndOfData,   // the final reply expected
    Reset,       // RSET sent
    Quit,        // QUIT sent
    Closed,
  };
  // What the driver was doing when an I/O failure is reported, for its text.
  enum class Activity { SendingCommands, SendingData, WaitingForReply, WaitingForDataReply };

  // A failure that ends the transaction: reply for every recipient without a result yet,
  // text for TransactionResult::error.
  struct Failure {
    smtp::Reply reply;
    std::string text;
  };

  struct Transaction {
    Envelope envelope;
    std::vector<std::optional<RecipientResult>> results;
    std::vector<std::size_t> to_send;  // recipients that go on the wire
    std::size_t replies = 0;           // RCPT replies received
    std::vector<bool> accepted;
    std::size_t accepted_count = 0;
    bool pipelining = false;
    bool reused = false;  // the session was set up before this transaction
    bool stale = false;   // see TransactionResult::stale
    std::optional<smtp::Reply> mail_refusal;
    std::optional<Failure> after_reset;  // reported once RSET is through
  };

  // protocol.cpp: the loop, the driver's answers, failures.
  void handle(const smtp::Reply& reply);
  void lost(std::string text, std::string_view enhanced, bool timed_out);
  void fail(Failure failure);
  void finish(std::optional<Failure> failure);
  void send(std::string bytes);
  void send_quit();
  Failure temporary(std::string_view enhanced, std::string text) const;
  Failure refused(const smtp::Reply& reply, const std::string& what) const;
  Failure refused_temporarily(const smtp::Reply& reply, const std::string& what) const;
  void hang_up();

  // protocol_setup.cpp: greeting, EHLO/HELO, STARTTLS, AUTH.
  void greeting(const smtp::Reply& reply);
  void send_ehlo();
  void ehlo(const smtp::Reply& reply);
  void helo(const smtp::Reply& reply);
  void after_hello();
  void starttls(const smtp::Reply& reply);
  void start_auth();
  void auth_reply(const smtp::Reply& reply);
  void cancel_auth(Failure failure);
  void setup_refused(const smtp::Reply& reply, Failure failure);
  void ready();

  // protocol_transaction.cpp: MAIL, RCPT, DATA, the body, RSET.
  void start_transaction();
  std::optional<Failure> refusal_before_sending();
  void mail(const smtp::Reply& reply);
  void rcpt(const smtp::Reply& reply);
  void after_recipients();
  void data(const smtp::Reply& reply);
  void end_of_data(const smtp::Reply& reply);
  void settle_accepted(const smtp::Reply& reply);
  void reset(std::optional<Failure> failure);
  void reset_reply(const smtp::Reply& reply);

  ProtocolOptions options_;
  Phase phase_ = Phase::New;
  Activity activity_ = Activity::WaitingForReply;
  std::deque<Step> outbox_;
  ReplyReader reader_;
  std::uint64_t replies_ = 0;  // replies taken from the reader, for ReadReply::reply_number
  Capabilities capabilities_;
  DotStuffer stuffer_;
  std::optional<Transaction> transaction_;
  std::string auth_mechanism_;
  std::optional<Failure> auth_cancelled_;  // reported once the reply to "*" is in
  unsigned transactions_ = 0;
  bool tls_active_ = false;
  bool set_up_ = false;      // greeted, TLS and AUTH done
  bool broken_ = false;      // no more commands on this connection: hang up
  bool polite_close_ = false;
};

}  // namespace smtp_client
