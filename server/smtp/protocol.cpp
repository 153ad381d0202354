// The session loop and its cross-cutting policy: the service's rules, line splitting, dispatch,
// error counting, the asynchronous answers and STARTTLS's reset. The verbs are in
// protocol_verbs.cpp and protocol_auth.cpp.
#include "server/smtp/protocol.hpp"

#include <array>
#include <utility>

#include "server/smtp/ascii.hpp"

namespace smtp {
namespace {

// Requests of a browser or proxy client. Answering them with a 421 and hanging up keeps the
// relay from being used in cross-protocol attacks.
constexpr std::array<std::string_view, 7> kHttpVerbs = {"GET", "POST", "HEAD", "PUT",
                                                        "CONNECT", "OPTIONS", "DELETE"};

bool is_http_verb(std::string_view verb) {
  for (const std::string_view http_verb : kHttpVerbs) {
    if (verb == http_verb) return true;
  }
  return false;
}

// The usual reply for each verdict of an Outcome, per asynchronous step.
struct VerdictReplies {
  Reply accepted;
  Reply refused;
  Reply temporary_failure;
  Reply too_many_failures;
};

// The service's own reply when it gave one, else the usual one for its verdict.
Reply reply_for(Outcome outcome, VerdictReplies usual) {
  if (outcome.reply) return std::move(*outcome.reply);
  switch (outcome.verdict) {
    case Outcome::Verdict::Accepted:
      return std::move(usual.accepted);
    case Outcome::Verdict::Refused:
      return std::move(usual.refused);
    case Outcome::Verdict::TemporaryFailure:
      return std::move(usual.temporary_failure);
    case Outcome::Verdict::TooManyFailures:
      return std::move(usual.too_many_failures);
  }
  return std::move(usual.temporary_failure);
}

// A bearer token does not fit in 1000 octets, and clients send it as AUTH's initial response all
// the same: those AUTH lines may be as long as a SASL response line.
bool starts_bearer_auth(std::string_view buffered) {
  for (const std::string_view prefix : {std::string_view("AUTH OAUTHBEARER "), std::string_view("AUTH XOAUTH2 ")}) {
    if (buffered.size() >= prefix.size() && equals_ignoring_case(buffered.substr(0, prefix.size()), prefix)) {
      return true;
    }
  }
  return false;
}

}  // namespace

Protocol::Protocol(ProtocolOptions options)
    : options_(std::move(options)), tls_active_(options_.tls_active) {
  // RFC 5321 §4.2: no enhanced code on the greeting (RFC 2034 §3). It names the protocol
  // spoken, which tells whoever connects whether to greet with EHLO or LHLO.
  send(220, "", options_.hostname + (speaks_lmtp() ? " LMTP Postern" : " ESMTP Postern"));
}

// ---- The service's policy ----

// Submission is for the users Postern knows (RFC 6409 §4.3). Inbound and LMTP take mail from
// anyone for the domains they serve: there is nobody to authenticate, so not even AUTH.
bool Protocol::requires_auth() const { return options_.service == ProtocolOptions::Service::Submission; }

// Plaintext passwords only under TLS (RFC 4954 §4, §6), unless the driver allows them.
bool Protocol::offers_auth() const { return requires_auth() && (tls_active_ || options_.auth_without_tls); }

// Which addresses a user may send as is in their grants; without a user, nothing to check.
bool Protocol::asks_sender_check() const { return requires_auth(); }

// A user may submit to anyone, unless the listener says otherwise; mail from anyone is only
// for the recipients Postern serves, which the driver knows.
bool Protocol::asks_recipient_check() const { return options_.check_recipients || !requires_auth(); }

bool Protocol::speaks_lmtp() const { return options_.service == ProtocolOptions::Service::Lmtp; }

std::string_view Protocol::hello_verb() const { return speaks_lmtp() ? "LHLO" : "EHLO"; }

// ---- The session loop ----

void Protocol::receive(std::string_view bytes) {
  if (closed_) return;
  input_.erase(0, input_pos_);
  input_pos_ = 0;
  input_.append(bytes);
}

Step Protocol::next() {
  for (;;) {
    if (!outbox_.empty()) {
      Step step = std::move(outbox_.front());
      outbox_.pop_front();
      return step;
    }
    if (closed_) return Close{};
    if (awaiting_) return *awaiting_;
    if (!process_input()) return NeedInput{input_mode_ == InputMode::MessageData};
  }
}

// Handles one line or one stretch of message data; false when more input is needed.
bool Protocol::process_input() {
  const std::string_view buffered = std::string_view(input_).substr(input_pos_);
  if (input_mode_ == InputMode::MessageData) {
    input_pos_ += data_reader_->consume(buffered);
    if (data_reader_->finished()) {
      finish_message();
      return true;
    }
    if (!data_reader_->piece_ready()) return false;
    outbox_.push_back(MessageData{data_reader_->take_piece()});
    return true;
  }

  const bool long_line = input_mode_ == InputMode::AuthResponse || (options_.offer_oauth && starts_bearer_auth(buffered));
  const std::size_t limit = long_line ? kMaxAuthResponseLine : kMaxCommandLine;
  const LineRead read = line_reader_.read(buffered, limit);
  input_pos_ += read.consumed;
  switch (read.kind) {
    case LineRead::Kind::NeedMore:
      return false;
    case LineRead::Kind::Line:
      if (input_mode_ == InputMode::AuthResponse) {
        auth_response(read.text);
      } else {
        handle_command(read.text);
      }
      return true;
    case LineRead::Kind::TooLong:
      refuse_line("Line too long");
      return true;
    case LineRead::Kind::BareCrOrLf:
      refuse_line("Bare CR or LF not allowed");
      return true;
    case LineRead::Kind::Nul:
      refuse_line("NUL not allowed");
      return true;
  }
  return true;
}

// A malformed line is never interpreted (it may be a SASL response); one in the middle of an
// AUTH exchange ends it.
void Protocol::refuse_line(std::string_view reply_text) {
  input_mode_ = InputMode::Commands;
  login_username_.clear();
  send(500, "5.5.2", reply_text);
}

void Protocol::handle_command(std::string_view line) {
  const std::size_t space = line.find(' ');
  const std::string verb = to_ascii_upper(line.substr(0, space));
  std::string_view argument = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
  // Tolerate trailing spaces, which some clients add.
  while (!argument.empty() && argument.back() == ' ') argument.remove_suffix(1);

  if (space != std::string_view::npos && is_http_verb(verb)) {
    send(421, "4.7.0", "HTTP not spoken here");
    return;
  }

  using Handler = void (Protocol::*)(std::string_view);
  // The greetings tell the two protocols apart: an LMTP client greets with LHLO only (RFC 2033
  // §4.1), and SMTP has no LHLO. Every other verb is common to both.
  enum class Dialect { Both, Smtp, Lmtp };
  struct Verb {
    std::string_view name;
    Handler handler;
    Dialect dialect = Dialect::Both;
  };
  static constexpr std::array<Verb, 14> kVerbs = {{
      {"EHLO", &Protocol::ehlo, Dialect::Smtp}, {"HELO", &Protocol::helo, Dialect::Smtp},
      {"LHLO", &Protocol::lhlo, Dialect::Lmtp}, {"STARTTLS", &Protocol::starttls},
      {"AUTH", &Protocol::auth},                {"MAIL", &Protocol::mail},
      {"RCPT", &Protocol::rcpt},                {"DATA", &Protocol::data},
      {"RSET", &Protocol::rset},                {"NOOP", &Protocol::noop},
      {"QUIT", &Protocol::quit},                {"VRFY", &Protocol::vrfy},
      {"HELP", &Protocol::help},                {"EXPN", &Protocol::expn},
  }};
  const Dialect spoken = speaks_lmtp() ? Dialect::Lmtp : Dialect::Smtp;
  for (const Verb& candidate : kVerbs) {
    if (candidate.name == verb && (candidate.dialect == Dialect::Both || candidate.dialect == spoken)) {
      (this->*candidate.handler)(argument);
      return;
    }
  }
  send(500, "5.5.1", "Command unrecognized");
}

void Protocol::finish_message() {
  input_mode_ = InputMode::Commands;
  const DataReader::Verdict verdict = data_reader_->verdict();
  std::string last_piece = data_reader_->take_piece();
  data_reader_.reset();
  Transaction transaction = std::move(*transaction_);
  transaction_.reset();  // RFC 5321 §4.1.1.4: the transaction ends whatever the outcome

  const std::size_t recipients = transaction.recipients.size();
  switch (verdict) {
    case DataReader::Verdict::Ok:
      break;
    case DataReader::Verdict::BadLineEnding:
      send_message_reply(Reply::line(550, "5.6.0", "Message contains bare CR, bare LF or NUL"), recipients,
                         MessageRefusal::Malformed);
      return;
    case DataReader::Verdict::LineTooLong:
      send_message_reply(Reply::line(500, "5.5.2", "Line too long"), recipients, MessageRefusal::Malformed);
      return;
    case DataReader::Verdict::TooLarge:
      send_message_reply(Reply::line(552, "5.3.4", "Message size exceeds fixed limit"), recipients,
                         MessageRefusal::TooLarge);
      return;
  }

  if (!last_piece.empty()) outbox_.push_back(MessageData{std::move(last_piece)});
  const AcceptMessage accept{Envelope{user_, std::move(transaction.mail_from), std::move(transaction.recipients),
                                      transaction.parameters.body, transaction.parameters.smtputf8, helo_}};
  await(accept, accept);
}

void Protocol::send(Reply reply) {
  const int code = reply.code;
  outbox_.push_back(SendReply{std::move(reply), std::nullopt});
  count_reply(code);
}

void Protocol::send(int code, std::string_view enhanced, std::string_view text) {
  send(Reply::line(code, enhanced, text));
}

// The end of a message with `recipients` accepted recipients is answered once in SMTP, and once
// per recipient, in RCPT order, in LMTP (RFC 2033 §4.2). Postern queues a message once for all
// its recipients, so they all get the same reply. It is still one message: the replies count
// as one error, only the first carries `refused_message` so that the driver counts the refusal
// once, and a 421 for too many errors comes after them all, as the client waits for each.
void Protocol::send_message_reply(Reply reply, std::size_t recipients,
                                  std::optional<MessageRefusal> refused_message) {
  const std::size_t replies = speaks_lmtp() ? recipients : 1;
  outbox_.push_back(SendReply{reply, refused_message});
  for (std::size_t i = 1; i < replies; ++i) outbox_.push_back(SendReply{reply, std::nullopt});
  count_reply(reply.code);
}

// The session's consequences of one reply just queued.
void Protocol::count_reply(int code) {
  if (code == 421) {
    close();  // 421 always ends the session (RFC 5321 §3.8)
  } else if (code >= 500 && ++errors_ >= options_.max_errors) {
    outbox_.push_back(SendReply{Reply::line(421, "4.7.0", "Too many errors"), std::nullopt});
    close();
  }
}

// Hands `step` to the driver and stops processing input until it is answered.
void Protocol::await(Step step, Step repeat) {
  outbox_.push_back(std::move(step));
  awaiting_ = std::move(repeat);
}

void Protocol::close() {
  closed_ = true;
  awaiting_.reset();
  input_.clear();
  input_pos_ = 0;
}

void Protocol::tls_started() {
  if (!awaiting_ || !std::holds_alternative<StartTls>(*awaiting_)) return;
  awaiting_.reset();
  // RFC 3207 §4.2: discard what the client sent before the handshake and forget all state.
  input_.clear();
  input_pos_ = 0;
  line_reader_.reset();
  input_mode_ = InputMode::Commands;
  tls_active_ = true;
  login_username_.clear();
  greeted_ = false;
  extended_ = false;
  helo_.clear();
  user_.clear();
  transaction_.reset();
}

void Protocol::credentials_checked(Outcome outcome) {
  if (!awaiting_) return;
  std::string user;
  if (auto* password = std::get_if<VerifyCredentials>(&*awaiting_)) {
    user = std::move(password->user);
  } else if (auto* bearer = std::get_if<VerifyBearerToken>(&*awaiting_)) {
    user = std::move(bearer->user);
    if (outcome.verdict == Outcome::Verdict::Refused && !outcome.reply) {
      awaiting_.reset();
      return refuse_bearer_token();
    }
  } else {
    return;
  }
  awaiting_.reset();
  if (outcome.verdict == Outcome::Verdict::Accepted) {
    user_ = outcome.identity.empty() ? std::move(user) : std::move(outcome.identity);
    // A token without authzid names nobody here: only the service's identity can.
    if (user_.empty()) outcome = Outcome::temporary_failure();
  }
  send(reply_for(std::move(outcome), {Reply::line(235, "2.7.0", "Authentication successful"),
                                      Reply::line(535, "5.7.8", "Authentication credentials invalid"),
                                      Reply::line(454, "4.7.0", "Temporary authentication failure"),
                                      Reply::line(421, "4.7.0", "Too many authentication failures")}));
}

void Protocol::sender_checked(Outcome outcome) {
  if (!awaiting_ || !std::holds_alternative<CheckSender>(*awaiting_)) return;
  awaiting_.reset();
  std::optional<Transaction> candidate = std::exchange(sender_under_check_, std::nullopt);
  if (outcome.verdict == Outcome::Verdict::Accepted) transaction_ = std::move(candidate);
  // A temporary failure is never a pass: the grants could not be read.
  send(reply_for(std::move(outcome), {Reply::line(250, "2.1.0", "Ok"),
                                      Reply::line(553, "5.7.1", "Sender address rejected: not owned by user"),
                                      Reply::line(451, "4.3.0", "Temporary failure, try again later"),
                                      Reply::line(421, "4.7.0", "Too many failures")}));
}

// A refused or undecided recipient counts as a non-productive command, like any refused RCPT.
void Protocol::recipient_checked(Outcome outcome) {
  if (!awaiting_ || !std::holds_alternative<CheckRecipient>(*awaiting_)) return;
  std::string address = std::move(std::get<CheckRecipient>(*awaiting_).address);
  awaiting_.reset();
  if (outcome.verdict == Outcome::Verdict::Accepted && transaction_) {
    transaction_->recipients.push_back(std::move(address));
  } else if (outcome.verdict != Outcome::Verdict::TooManyFailures && over_idle_limit()) {
    return;
  }
  send(reply_for(std::move(outcome), {Reply::line(250, "2.1.5", "Ok"),
                                      Reply::line(550, "5.1.1", "Recipient address rejected"),
                                      Reply::line(451, "4.3.0", "Temporary failure, try again later"),
                                      Reply::line(421, "4.7.0", "Too many failures")}));
}

// The transaction already ended with the message (finish_message), whatever the verdict.
void Protocol::message_handled(Outcome outcome) {
  if (!awaiting_ || !std::holds_alternative<AcceptMessage>(*awaiting_)) return;
  const std::size_t recipients = std::get<AcceptMessage>(*awaiting_).envelope.recipients.size();
  awaiting_.reset();
  if (outcome.verdict == Outcome::Verdict::Accepted) idle_commands_ = 0;
  send_message_reply(reply_for(std::move(outcome), {Reply::line(250, "2.0.0", "Ok"),
                                                    Reply::line(550, "5.7.1", "Message refused"),
                                                    Reply::line(451, "4.3.0", "Temporary failure, try again later"),
                                                    Reply::line(421, "4.7.0", "Too many failures")}),
                     recipients);
}

}  // namespace smtp
