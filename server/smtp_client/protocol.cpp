// The session loop: steps out, replies in, the driver's answers, and how a failure ends the
// transaction and the session. The setup (greeting to AUTH) is in protocol_setup.cpp, the
// transaction (MAIL to the final reply) in protocol_transaction.cpp.
#include "server/smtp_client/protocol.hpp"

#include <utility>

namespace smtp_client {

Protocol::Protocol(ProtocolOptions options) : options_(std::move(options)) {}

void Protocol::begin(Envelope envelope) {
  Transaction transaction;
  transaction.results.resize(envelope.recipients.size());
  transaction.envelope = std::move(envelope);
  transaction.reused = phase_ == Phase::Idle;
  if (phase_ == Phase::New) {
    transaction_ = std::move(transaction);
    phase_ = Phase::Connecting;
  } else if (phase_ == Phase::Idle) {
    transaction_ = std::move(transaction);
    start_transaction();
  } else {
    outbox_.push_back(TransactionDone{failed_attempt(transaction.envelope.recipients.size(), "4.3.0",
                                                     "the upstream session cannot take a message now")});
  }
}

void Protocol::quit() {
  switch (phase_) {
    case Phase::Idle:
      send_quit();
      return;
    case Phase::Quit:
    case Phase::Closed:
      return;
    default:  // not connected, or given up in the middle of something: nothing more to say
      outbox_.clear();
      transaction_.reset();
      hang_up();
  }
}

Step Protocol::next() {
  for (;;) {
    if (!outbox_.empty()) {
      Step step = std::move(outbox_.front());
      outbox_.pop_front();
      if (std::holds_alternative<SendCommands>(step)) activity_ = Activity::SendingCommands;
      return step;
    }
    switch (phase_) {
      case Phase::New:
      case Phase::Idle:
        return Idle{};
      case Phase::Connecting:
        return Connect{};
      case Phase::Handshaking:
        return TlsHandshake{};
      case Phase::Body:
        activity_ = Activity::SendingData;
        return SendBody{};
      case Phase::Closed:
        return Close{polite_close_};
      default:  // a reply is expected
        break;
    }
    if (auto reply = reader_.next()) {
      ++replies_;
      handle(*reply);
      continue;
    }
    if (reader_.failed()) {
      lost("protocol error from " + options_.peer + ": " + reader_.error(), "4.5.0", false);
      continue;
    }
    const bool end_of_data = phase_ == Phase::EndOfData;
    activity_ = end_of_data ? Activity::WaitingForDataReply : Activity::WaitingForReply;
    return ReadReply{end_of_data, replies_};
  }
}

void Protocol::handle(const smtp::Reply& reply) {
  switch (phase_) {
    case Phase::Greeting:
      return greeting(reply);
    case Phase::Ehlo:
      return ehlo(reply);
    case Phase::Helo:
      return helo(reply);
    case Phase::StartTls:
      return starttls(reply);
    case Phase::AuthPlain:
    case Phase::AuthLogin:
    case Phase::AuthLoginUsername:
    case Phase::AuthLoginPassword:
      return auth_reply(reply);
    case Phase::AuthCancel:  // whatever it says, the exchange failed as decided before
      return setup_refused(reply, std::exchange(auth_cancelled_, std::nullopt).value());
    case Phase::Mail:
      return mail(reply);
    case Phase::Recipients:
      return rcpt(reply);
    case Phase::Data:
      return data(reply);
    case Phase::EndOfData:
      return end_of_data(reply);
    case Phase::Reset:
      return reset_reply(reply);
    case Phase::Quit:
      phase_ = Phase::Closed;
      polite_close_ = true;
      return;
    default:  // next() reads replies only in the phases above
      return;
  }
}

void Protocol::connected() {
  if (phase_ != Phase::Connecting) return;
  phase_ = options_.security == Security::ImplicitTls ? Phase::Handshaking : Phase::Greeting;
}

void Protocol::connect_failed(ConnectFailure failure, std::string text) {
  if (phase_ != Phase::Connecting) return;
  broken_ = true;
  fail(temporary(failure == ConnectFailure::Resolve ? "4.4.3" : "4.4.1", std::move(text)));
}

void Protocol::receive(std::string_view bytes) { reader_.feed(bytes); }

void Protocol::tls_started() {
  if (phase_ != Phase::Handshaking) return;
  tls_active_ = true;
  reader_ = ReplyReader{};
  // Implicit TLS: the greeting comes now. STARTTLS: start over with EHLO (RFC 3207 §4.2).
  if (options_.security == Security::ImplicitTls) phase_ = Phase::Greeting;
  else send_ehlo();
}

void Protocol::tls_failed(std::string_view detail) {
  if (phase_ != Phase::Handshaking) return;
  broken_ = true;
  fail(temporary("4.7.5", "TLS handshake with " + options_.peer + " failed: " + std::string(detail)));
}

void Protocol::connection_failed(IoFailure failure, std::string_view detail) {
  const char* what = activity_ == Activity::SendingCommands ? "sending a command"
                   : activity_ == Activity::SendingData     ? "sending the message data"
                   : activity_ == Activity::WaitingForReply ? "waiting for a reply"
                                                            : "waiting for the reply to the message data";
  const std::string& peer = options_.peer;
  switch (failure) {
    case IoFailure::Timeout:
      return lost("timed out " + std::string(what) + " (" + peer + ")", "4.4.2", true);
    case IoFailure::Closed:
      return lost(peer + " closed the connection while " + what, "4.4.2", false);
    case IoFailure::Error:
      return lost("connection to " + peer + " failed while " + what + ": " + std::string(detail), "4.4.2", false);
  }
}

// The connection is gone (or speaks garbage): nothing more is sent on it.
void Protocol::lost(std::string text, std::string_view enhanced, bool timed_out) {
  broken_ = true;
  switch (phase_) {
    case Phase::New:
    case Phase::Idle:
    case Phase::Quit:
    case Phase::Closed:
      return hang_up();
    case Phase::Reset:  // the transaction's outcome was decided before RSET
      return finish(std::exchange(transaction_->after_reset, std::nullopt));
    case Phase::EndOfData:
      if (activity_ == Activity::WaitingForDataReply) {
        // The data went out whole: the upstream may have taken it. At-least-once: try again later.
        return fail(temporary("4.4.2", text + " (after the whole message was sent)"));
      }
      break;
    case Phase::Mail:
      // A reused session found dead before the upstream took anything of this message. A
      // timeout does not count: the upstream may be working on it.
      if (transaction_->reused && !timed_out) transaction_->stale = true;
      break;
    default:
      break;
  }
  fail(temporary(enhanced, std::move(text)));
}

void Protocol::fail(Failure failure) { finish(std::move(failure)); }

// Hands over the result; every recipient without one of its own gets the failure's reply.
void Protocol::finish(std::optional<Failure> failure) {
  if (!transaction_) return;
  TransactionResult result;
  result.stale = transaction_->stale;
  if (failure) result.error = failure->text;
  for (auto& recipient : transaction_->results) {
    if (recipient) result.recipients.push_back(std::move(*recipient));
    else if (failure) result.recipients.push_back(RecipientResult::of(failure->reply));
    else result.recipients.push_back(RecipientResult::of(smtp::Reply::line(451, "4.3.0", "no reply for recipient")));
  }
  transaction_.reset();
  outbox_.push_back(TransactionDone{std::move(result)});
  if (broken_) hang_up();
  else if (set_up_) phase_ = Phase::Idle;
  else send_quit();  // refused during the setup, politely: say goodbye
}

void Protocol::send(std::string bytes) { outbox_.push_back(SendCommands{std::move(bytes)}); }

void Protocol::send_quit() {
  send("QUIT\r\n");
  phase_ = Phase::Quit;
}

void Protocol::hang_up() {
  broken_ = true;
  polite_close_ = false;
  phase_ = Phase::Closed;
}

Protocol::Failure Protocol::temporary(std::string_view enhanced, std::string text) const {
  return {smtp::Reply::line(451, enhanced, text), std::move(text)};
}

// The upstream refused a step with a reply that decides for every recipient: its 4xx or 5xx
// stands (AUTH, MAIL FROM).
Protocol::Failure Protocol::refused(const smtp::Reply& reply, const std::string& what) const {
  if (reply.code < 400) return temporary("4.5.0", what + ": unexpected reply " + reply.one_line());
  return {reply, what + " refused: " + reply.one_line()};
}

// A refusal that only ever counts as temporary (greeting, EHLO, STARTTLS, MAIL or RCPT with
// 421): the upstream's own 4xx, or 451 quoting its 5xx.
Protocol::Failure Protocol::refused_temporarily(const smtp::Reply& reply, const std::string& what) const {
  if (reply.transient()) return {reply, what + " refused: " + reply.one_line()};
  return temporary("4.4.0", what + " refused: " + reply.one_line());
}

}  // namespace smtp_client
