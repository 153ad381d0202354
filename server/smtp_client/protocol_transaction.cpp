// One transaction on a set-up session: MAIL FROM, RCPT TO for each recipient, DATA, the body
// and its final reply, and RSET when a transaction ends before DATA went through, so that the
// session is fit for the next message.
#include "server/smtp_client/protocol.hpp"

#include <algorithm>
#include <utility>

namespace smtp_client {
namespace {

// An address that can go between <> on a command line: no line breaks, no angle brackets, no
// control characters, at most RFC 5321's 256 octets of path (§4.5.3.1.3).
bool sendable_address(std::string_view address) {
  if (address.size() > 254) return false;
  return std::none_of(address.begin(), address.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f || c == '<' || c == '>';
  });
}

std::string mail_command(const Envelope& envelope, const Capabilities& capabilities) {
  std::string mail = "MAIL FROM:<" + envelope.sender + ">";
  if (capabilities.size) mail += " SIZE=" + std::to_string(envelope.size);  // RFC 1870 §3
  if (envelope.eight_bit_mime && capabilities.eight_bit_mime) mail += " BODY=8BITMIME";  // RFC 6152 §2
  if (envelope.smtputf8) mail += " SMTPUTF8";  // RFC 6531 §3.4
  return mail + "\r\n";
}

std::string rcpt_command(const std::string& recipient) { return "RCPT TO:<" + recipient + ">\r\n"; }

// A recipient's result from a reply to RCPT, DATA or the end of data.
RecipientResult result_of(const smtp::Reply& reply) {
  if (reply.code >= 200 && reply.code < 300) return RecipientResult::of(reply);
  if (reply.code >= 400) return RecipientResult::of(reply);
  return RecipientResult::of(smtp::Reply::line(451, "4.5.0", "unexpected reply " + reply.one_line()));
}

}  // namespace

void Protocol::start_transaction() {
  Transaction& t = *transaction_;
  if (auto refusal = refusal_before_sending()) return fail(std::move(*refusal));
  const auto& recipients = t.envelope.recipients;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    if (!recipients[i].empty() && sendable_address(recipients[i])) t.to_send.push_back(i);
    else t.results[i] = RecipientResult::of(smtp::Reply::line(553, "5.1.3", "invalid recipient address"));
  }
  if (t.to_send.empty()) return finish(std::nullopt);

  t.accepted.assign(recipients.size(), false);
  t.pipelining = capabilities_.pipelining;
  std::string commands = mail_command(t.envelope, capabilities_);
  if (t.pipelining) {  // RFC 2920 §3.1: DATA may end the group; its reply comes last
    for (std::size_t i : t.to_send) commands += rcpt_command(recipients[i]);
    commands += "DATA\r\n";
  }
  send(std::move(commands));
  phase_ = Phase::Mail;
}

// Refusals decided before anything is sent: the session stays fit for the next message.
std::optional<Protocol::Failure> Protocol::refusal_before_sending() {
  const Envelope& envelope = transaction_->envelope;
  if (!sendable_address(envelope.sender)) {
    return Failure{smtp::Reply::line(553, "5.1.7", "invalid sender address"), "invalid sender address"};
  }
  // RFC 6531 §3.2: a message that needs SMTPUTF8 cannot go to a server without it.
  if (envelope.smtputf8 && !capabilities_.smtputf8) {
    std::string text = "upstream " + options_.peer + " does not support SMTPUTF8";
    return Failure{smtp::Reply::line(550, "5.6.7", text), text};
  }
  // RFC 1870 §6: over the declared limit, the server would refuse it anyway.
  if (capabilities_.size && capabilities_.max_size > 0 && envelope.size > capabilities_.max_size) {
    std::string text = "message size " + std::to_string(envelope.size) + " exceeds the limit of " + options_.peer +
                       " (" + std::to_string(capabilities_.max_size) + " bytes)";
    return Failure{smtp::Reply::line(552, "5.3.4", text), text};
  }
  return std::nullopt;
}

void Protocol::mail(const smtp::Reply& reply) {
  Transaction& t = *transaction_;
  if (reply.code == 421) {
    // RFC 5321 §3.8: the server is closing. On a reused session it timed the session out while
    // idle, before taking anything of this message: stale.
    broken_ = true;
    t.stale = t.reused;
    return fail(refused_temporarily(reply, options_.peer + " MAIL FROM"));
  }
  phase_ = Phase::Recipients;
  if (reply.code < 200 || reply.code >= 300) {
    t.mail_refusal = reply;
    if (!t.pipelining) return reset(refused(reply, options_.peer + " MAIL FROM"));
    return;  // the RCPT and DATA replies of the group still come, in order (RFC 2920 §3.1)
  }
  if (!t.pipelining) send(rcpt_command(t.envelope.recipients[t.to_send.front()]));
}

void Protocol::rcpt(const smtp::Reply& reply) {
  Transaction& t = *transaction_;
  const std::size_t i = t.to_send[t.replies++];
  if (!t.mail_refusal) {  // after a refused MAIL, the RCPT replies of the group mean nothing
    if (reply.code >= 200 && reply.code < 300) {
      t.accepted[i] = true;
      ++t.accepted_count;
    } else {
      t.results[i] = result_of(reply);
    }
    if (reply.code == 421) {  // RFC 5321 §3.8: the server is closing
      broken_ = true;
      return fail(refused_temporarily(reply, options_.peer + " RCPT TO"));
    }
  }
  if (t.replies < t.to_send.size()) {
    if (!t.pipelining) send(rcpt_command(t.envelope.recipients[t.to_send[t.replies]]));
    return;
  }
  after_recipients();
}

void Protocol::after_recipients() {
  Transaction& t = *transaction_;
  phase_ = Phase::Data;
  if (t.pipelining) return;  // DATA went with the group
  if (t.accepted_count == 0) return reset(std::nullopt);
  send("DATA\r\n");
}

void Protocol::data(const smtp::Reply& reply) {
  Transaction& t = *transaction_;
  if (t.pipelining && (t.mail_refusal || t.accepted_count == 0)) {
    // DATA went out blind with the group. A server that still wants the data (354) gets a
    // hang-up, never an empty message.
    std::optional<Failure> failure;
    if (t.mail_refusal) failure = refused(*t.mail_refusal, options_.peer + " MAIL FROM");
    if (reply.code != 354 && reply.code != 421) return reset(std::move(failure));
    broken_ = true;
    return finish(std::move(failure));
  }
  if (reply.code != 354) {
    settle_accepted(reply);
    if (reply.code != 421) return reset(std::nullopt);
    broken_ = true;
    return finish(std::nullopt);
  }
  stuffer_ = DotStuffer{};
  phase_ = Phase::Body;
}

std::string Protocol::body_piece(std::string_view raw) {
  std::string out;
  if (phase_ == Phase::Body) stuffer_.stuff(raw, out);
  return out;
}

std::string Protocol::body_end() {
  std::string out;
  if (phase_ != Phase::Body) return out;
  stuffer_.finish(out);
  phase_ = Phase::EndOfData;
  return out;
}

void Protocol::end_of_data(const smtp::Reply& reply) {
  settle_accepted(reply);
  ++transactions_;
  if (reply.code == 421) broken_ = true;
  finish(std::nullopt);
}

// From DATA on, each recipient accepted at RCPT gets the same outcome.
void Protocol::settle_accepted(const smtp::Reply& reply) {
  Transaction& t = *transaction_;
  for (std::size_t i : t.to_send) {
    if (t.accepted[i]) t.results[i] = result_of(reply);
  }
}

// RSET after a transaction that did not reach the end of DATA; failure is reported once it is
// through. A session whose RSET fails is not used again.
void Protocol::reset(std::optional<Failure> failure) {
  transaction_->after_reset = std::move(failure);
  send("RSET\r\n");
  phase_ = Phase::Reset;
}

void Protocol::reset_reply(const smtp::Reply& reply) {
  if (reply.code != 250) broken_ = true;
  finish(std::exchange(transaction_->after_reset, std::nullopt));
}

}  // namespace smtp_client
