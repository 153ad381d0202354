// Mailbox syntax with IDNA: drives the MAIL/RCPT argument parsers of server/smtp and the address
// normalisation of schema (which brings in libidn2) with arbitrary text, and checks what they
// promise: a mailbox accepted by check_mailbox() is short, clean and ASCII unless SMTPUTF8; an
// address or domain accepted by schema is canonical (normalising it again changes nothing);
// every error is one printable line; and schema::escape_unprintable() leaves nothing a terminal
// would obey.
//
// Input: the first byte's bit 0 says whether the transaction announced SMTPUTF8; the rest is
// the text, tried as a MAIL argument, a RCPT argument, a bare mailbox, a domain and a user name.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "postern/schema/address.hpp"
#include "postern/schema/printable.hpp"
#include "postern/schema/sender_rule.hpp"
#include "server/smtp/envelope_syntax.hpp"

namespace {

void check(bool invariant) {
  if (!invariant) std::abort();
}

bool is_ascii(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Nothing a terminal or a log reader would take for a control: the line is printable UTF-8.
void check_printable(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = postern::schema::printable_length(text, i);
    check(n > 0 || text[i] == '\t');
    i += n > 0 ? n : 1;
  }
}

// One line without C0 or C1 controls: it may be shown in a reply, a log or a terminal.
void check_error(const std::string& error) {
  check(!error.empty());
  for (std::size_t i = 0; i < error.size(); ++i) {
    const auto c = static_cast<unsigned char>(error[i]);
    check(c >= 0x20 && c != 0x7f);
    if (c == 0xc2 && i + 1 < error.size()) check(static_cast<unsigned char>(error[i + 1]) >= 0xa0);
  }
}

void check_domain(std::string_view domain) {
  check(!domain.empty() && domain.size() <= 253);
  check(domain.find('.') != std::string_view::npos);
  for (const char c : domain) check((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.');
}

void check_schema_address(std::string_view text) {
  const auto address = postern::schema::parse_address(text);
  if (!address) {
    check_error(address.error);
    return;
  }
  check_domain(address->domain);
  check(!address->local.empty() && address->local.size() <= 64);
  check(address->str().size() <= 254);
  // Canonical: parsing the normalised form gives it back; its domain is a fixed point too.
  const auto again = postern::schema::parse_address(address->str());
  check(again && again->local == address->local && again->domain == address->domain);
  const auto domain = postern::schema::normalize_domain(address->domain);
  check(domain && *domain == address->domain);
  // An address grant of its own normalised form always covers it.
  const postern::schema::UserGrants grants{{address->str()}, {}};
  check(postern::schema::may_send_as(grants, *address, {}).allowed);
}

void check_mailbox(std::string_view mailbox, bool smtputf8) {
  const auto problem = smtp::check_mailbox(mailbox, smtputf8);
  if (problem == smtp::MailboxProblem::None) {
    check(!mailbox.empty() && mailbox.size() <= smtp::kMaxMailboxLength);
    check(mailbox.find('@') != std::string_view::npos);
    for (const char c : mailbox) check(static_cast<unsigned char>(c) > 0x20 && c != 0x7f);
    check(smtputf8 || is_ascii(mailbox));
  }
  if (problem == smtp::MailboxProblem::NonAsciiWithoutSmtpUtf8) {
    check(!smtputf8 && !is_ascii(mailbox));
    check(smtp::check_mailbox(mailbox, true) == smtp::MailboxProblem::None);
  }
  check_schema_address(mailbox);
}

void check_argument(std::string_view text, std::string_view keyword, bool smtputf8) {
  const auto argument = smtp::split_path_argument(text, keyword);
  if (!argument) return;
  check(argument->path.size() < text.size());
  const auto parameters = smtp::parse_mail_parameters(argument->parameters, 1000);
  if (parameters.problem == smtp::ParameterProblem::None && argument->parameters.empty()) {
    check(!parameters.parameters.smtputf8 && parameters.parameters.body == smtp::BodyType::SevenBit);
  }
  const auto mailbox = smtp::strip_source_route(argument->path);
  if (!mailbox) return;
  check(mailbox->size() <= argument->path.size());
  check_mailbox(*mailbox, smtputf8 || parameters.parameters.smtputf8);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool smtputf8 = (data[0] & 1) != 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  check_argument(text, "FROM:", smtputf8);
  check_argument(text, "TO:", smtputf8);
  check_mailbox(text, smtputf8);

  const auto domain = postern::schema::normalize_domain(text);
  if (domain) {
    check_domain(*domain);
    const auto again = postern::schema::normalize_domain(*domain);
    check(again && *again == *domain);
  } else {
    check_error(domain.error);
  }

  const auto user = postern::schema::normalize_user_name(text);
  if (user) {
    check(!user->empty() && user->size() <= 200);
    const auto again = postern::schema::normalize_user_name(*user);
    check(again && *again == *user);
  } else {
    check_error(user.error);
  }

  const std::string shown = postern::schema::escape_unprintable(text, "\t");
  check_printable(shown);
  check(shown.size() <= 4 * text.size());
  check(postern::schema::escape_unprintable(shown, "\t") == shown);
  return 0;
}
