// The SMTP verbs other than AUTH: each checks its own preconditions, in the order the replies
// document, and sends its replies.
#include <string>
#include <utility>

#include "server/smtp/ascii.hpp"
#include "server/smtp/protocol.hpp"

namespace smtp {
namespace {

// A domain or address literal is at most 255 octets (RFC 5321 §4.5.3.1.2). Only the shape
// is checked, as clients send all kinds of names; nothing unprintable is echoed back.
bool is_valid_helo_argument(std::string_view argument) {
  if (argument.empty() || argument.size() > 255) return false;
  for (const char c : argument) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= ' ' || byte == 0x7F) return false;
  }
  return true;
}

}  // namespace

// RFC 5321 §4.1.1.1.
void Protocol::ehlo(std::string_view argument) { extended_hello("EHLO", argument); }

// RFC 2033 §4.1: LMTP's EHLO, with the same reply.
void Protocol::lhlo(std::string_view argument) { extended_hello("LHLO", argument); }

// The extensions Postern implements, no enhanced code (RFC 2034 §3).
void Protocol::extended_hello(std::string_view verb, std::string_view argument) {
  if (!is_valid_helo_argument(argument)) return send(501, "5.5.4", "Syntax: " + std::string(verb) + " hostname");
  greeted_ = true;
  extended_ = true;
  helo_ = std::string(argument);
  transaction_.reset();

  Reply reply{250, "", {options_.hostname + " Hello " + std::string(argument)}};
  reply.lines.push_back("PIPELINING");                                          // RFC 2920
  reply.lines.push_back("SIZE " + std::to_string(options_.max_message_size));  // RFC 1870
  reply.lines.push_back("8BITMIME");                                            // RFC 6152
  reply.lines.push_back("SMTPUTF8");                                            // RFC 6531
  reply.lines.push_back("ENHANCEDSTATUSCODES");                                 // RFC 2034
  if (options_.tls_available && !tls_active_) reply.lines.push_back("STARTTLS");  // RFC 3207
  if (offers_auth()) {
    // RFC 4954; RFC 7628 and XOAUTH2 when tokens are accepted
    reply.lines.push_back(options_.offer_oauth ? "AUTH PLAIN LOGIN OAUTHBEARER XOAUTH2" : "AUTH PLAIN LOGIN");
  }
  send(std::move(reply));
}

void Protocol::helo(std::string_view argument) {
  if (!is_valid_helo_argument(argument)) return send(501, "5.5.4", "Syntax: HELO hostname");
  greeted_ = true;
  extended_ = false;
  helo_ = std::string(argument);
  transaction_.reset();
  send(250, "", options_.hostname);
}

// RFC 3207 §4.
void Protocol::starttls(std::string_view argument) {
  if (!argument.empty()) return send(501, "5.5.4", "Syntax: STARTTLS");
  if (tls_active_) return send(503, "5.5.1", "TLS already active");
  if (!options_.tls_available) return send(454, "4.7.0", "TLS not available");
  send(220, "2.0.0", "Ready to start TLS");
  await(StartTls{}, StartTls{});
}

// RFC 5321 §4.1.1.2; submission needs an authenticated user (RFC 6409 §4.3).
void Protocol::mail(std::string_view argument) {
  if (!greeted_) return send(503, "5.5.1", "Send " + std::string(hello_verb()) + " first");
  if (requires_auth() && user_.empty()) return send(530, "5.7.0", "Authentication required");
  if (transaction_) return send(503, "5.5.1", "Sender already specified");

  const std::optional<PathArgument> path = split_path_argument(argument, "FROM:");
  if (!path) return send(501, "5.5.4", "Syntax: MAIL FROM:<address>");
  const MailParametersParse parse = parse_mail_parameters(path->parameters, options_.max_message_size);
  if (parse.problem == ParameterProblem::Unsupported) return send(555, "5.5.4", "Unsupported parameter");
  if (parse.problem == ParameterProblem::TooLarge) return send(552, "5.3.4", "Message size exceeds fixed limit");
  // The null reverse-path: a submitted message always has an author to bounce to (RFC 6409
  // §6.1), while mail from elsewhere may be a bounce itself (RFC 5321 §4.5.5).
  const bool null_sender = path->path.empty();
  if (null_sender && requires_auth()) return send(553, "5.7.1", "Null sender not allowed on submission");

  const std::optional<std::string_view> mailbox = strip_source_route(path->path);
  const MailboxProblem problem = !mailbox      ? MailboxProblem::BadSyntax
                                 : null_sender ? MailboxProblem::None
                                               : check_mailbox(*mailbox, parse.parameters.smtputf8);
  if (problem == MailboxProblem::NonAsciiWithoutSmtpUtf8) {
    return send(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
  }
  if (problem != MailboxProblem::None) return send(553, "5.1.7", "Bad sender address syntax");

  Transaction transaction{std::string(*mailbox), parse.parameters, {}};
  // Without a user there are no grants to check the sender against: the transaction starts now.
  if (!asks_sender_check()) {
    transaction_ = std::move(transaction);
    return send(250, "2.1.0", "Ok");
  }
  sender_under_check_ = std::move(transaction);
  const CheckSender check{user_, std::string(*mailbox)};
  await(check, check);
}

// RFC 5321 §4.1.1.3.
void Protocol::rcpt(std::string_view argument) {
  if (!transaction_) return refuse_recipient(503, "5.5.1", "Need MAIL command");
  const std::optional<PathArgument> path = split_path_argument(argument, "TO:");
  if (!path) return refuse_recipient(501, "5.5.4", "Syntax: RCPT TO:<address>");
  // No RCPT extension (DSN's NOTIFY, ORCPT) is advertised.
  if (!path->parameters.empty()) return refuse_recipient(555, "5.5.4", "Unsupported parameter");

  const std::optional<std::string_view> mailbox = strip_source_route(path->path);
  // "<postmaster>" without a domain must be accepted (RFC 5321 §4.5.1).
  const bool postmaster = mailbox && equals_ignoring_case(*mailbox, "postmaster");
  const MailboxProblem problem = !mailbox ? MailboxProblem::BadSyntax
                                 : postmaster ? MailboxProblem::None
                                              : check_mailbox(*mailbox, transaction_->parameters.smtputf8);
  if (problem == MailboxProblem::NonAsciiWithoutSmtpUtf8) {
    return refuse_recipient(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
  }
  if (problem != MailboxProblem::None) return refuse_recipient(553, "5.1.3", "Bad recipient address syntax");
  if (transaction_->recipients.size() >= options_.max_recipients) {
    return refuse_recipient(452, "4.5.3", "Too many recipients");  // RFC 5321 §4.5.3.1.10
  }
  if (!asks_recipient_check()) {
    transaction_->recipients.emplace_back(*mailbox);
    return send(250, "2.1.5", "Ok");
  }
  const CheckRecipient check{user_, std::string(*mailbox)};
  await(check, check);
}

// RFC 5321 §4.1.1.4; the content is read by the DataReader.
void Protocol::data(std::string_view argument) {
  if (!argument.empty()) return send(501, "5.5.4", "Syntax: DATA");
  if (!transaction_) return send(503, "5.5.1", "Need MAIL command");
  if (transaction_->recipients.empty()) return send(503, "5.5.1", "Need RCPT command");
  send(354, "", "End data with <CR><LF>.<CR><LF>");
  data_reader_.emplace(options_.max_message_size, options_.message_piece_size);
  input_mode_ = InputMode::MessageData;
}

// RFC 5321 §4.1.1.5: ends the transaction, not the authentication.
void Protocol::rset(std::string_view) {
  transaction_.reset();
  if (over_idle_limit()) return;
  send(250, "2.0.0", "Ok");
}

void Protocol::noop(std::string_view) {
  if (!over_idle_limit()) send(250, "2.0.0", "Ok");
}

void Protocol::quit(std::string_view) {
  send(221, "2.0.0", "Bye");
  close();
}

// RFC 5321 §3.5.3: 252 neither confirms nor denies that a mailbox exists.
void Protocol::vrfy(std::string_view) {
  if (over_idle_limit()) return;
  send(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
}

void Protocol::help(std::string_view) {
  if (!over_idle_limit()) send(214, "2.0.0", "See RFC 5321");
}

// Mailing list contents are nobody's business (RFC 5321 §7.3).
void Protocol::expn(std::string_view) {
  if (!over_idle_limit()) send(502, "5.5.1", "Command not implemented");
}

bool Protocol::over_idle_limit() {
  if (++idle_commands_ <= options_.max_idle_commands) return false;
  send(421, "4.7.0", "Too many commands without mail");
  return true;
}

void Protocol::refuse_recipient(int code, std::string_view enhanced, std::string_view text) {
  if (!over_idle_limit()) send(code, enhanced, text);
}

}  // namespace smtp
