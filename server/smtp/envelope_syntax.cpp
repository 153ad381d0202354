#include "server/smtp/envelope_syntax.hpp"

#include <cstdint>
#include <limits>

#include "server/smtp/ascii.hpp"

namespace smtp {
namespace {

bool is_ascii_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_non_ascii(unsigned char c) { return c >= 0x80; }

// atext of RFC 5322 §3.2.3, extended with UTF-8 by RFC 6531 §3.3.
bool is_atext(unsigned char c) {
  return is_ascii_alnum(c) || is_non_ascii(c) ||
         std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) != std::string_view::npos;
}

// Well-formed UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF (RFC 3629 §4).
bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t min = 0;
    std::uint32_t code = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2, min = 0x80, code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, min = 0x800, code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, min = 0x10000, code = lead & 0x07;
    } else {
      return false;
    }
    if (text.size() - i < length) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

// Dot-string or quoted-string (RFC 5321 §4.1.2).
bool is_valid_local_part(std::string_view local) {
  if (local.size() >= 2 && local.front() == '"' && local.back() == '"') {
    const std::string_view content = local.substr(1, local.size() - 2);
    for (std::size_t i = 0; i < content.size(); ++i) {
      const char c = content[i];
      if (c == '\\') {
        if (++i == content.size()) return false;  // a quoted-pair needs its second character
      } else if (c == '"') {
        return false;
      }
    }
    return true;
  }
  bool atom_empty = true;
  for (const char c : local) {
    if (c == '.') {
      if (atom_empty) return false;
      atom_empty = true;
    } else if (is_atext(static_cast<unsigned char>(c))) {
      atom_empty = false;
    } else {
      return false;
    }
  }
  return !atom_empty;
}

// sub-domain = Let-dig [Ldh-str] (RFC 5321 §4.1.2); U-labels allowed by RFC 6531 §3.3.
bool is_valid_label(std::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  for (const char c : label) {
    const auto byte = static_cast<unsigned char>(c);
    if (!is_ascii_alnum(byte) && !is_non_ascii(byte) && c != '-') return false;
  }
  return true;
}

bool is_valid_domain(std::string_view domain) {
  if (domain.empty()) return false;
  if (domain.front() == '[') {
    // Address literal: only its shape is checked; it is never used to route.
    if (domain.size() < 3 || domain.back() != ']') return false;
    const std::string_view content = domain.substr(1, domain.size() - 2);
    return content.find_first_of("[]\\") == std::string_view::npos;
  }
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = domain.find('.', start);
    if (!is_valid_label(domain.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::optional<std::size_t> parse_decimal(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  std::size_t value = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::size_t>(c - '0');
    if (value > (std::numeric_limits<std::size_t>::max() - digit) / 10) {
      value = std::numeric_limits<std::size_t>::max();  // saturate: it is over any limit anyway
    } else {
      value = value * 10 + digit;
    }
  }
  return value;
}

}  // namespace

std::optional<PathArgument> split_path_argument(std::string_view argument, std::string_view keyword) {
  if (argument.size() < keyword.size() || !equals_ignoring_case(argument.substr(0, keyword.size()), keyword)) {
    return std::nullopt;
  }
  std::string_view rest = argument.substr(keyword.size());
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty() || rest.front() != '<') return std::nullopt;

  // The closing '>' is the first one outside a quoted local part.
  std::size_t close = std::string_view::npos;
  bool quoted = false;
  for (std::size_t i = 1; i < rest.size() && close == std::string_view::npos; ++i) {
    const char c = rest[i];
    if (quoted && c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && c == '>') {
      close = i;
    }
  }
  if (close == std::string_view::npos) return std::nullopt;

  const std::string_view path = rest.substr(1, close - 1);
  const std::string_view after = rest.substr(close + 1);
  if (after.empty()) return PathArgument{path, {}};
  if (after.front() != ' ') return std::nullopt;
  return PathArgument{path, after.substr(1)};
}

MailParametersParse parse_mail_parameters(std::string_view text, std::size_t max_message_size) {
  MailParametersParse result;
  bool seen_size = false;
  bool seen_body = false;
  bool seen_smtputf8 = false;
  bool seen_auth = false;
  const auto unsupported = [&result] {
    result.problem = ParameterProblem::Unsupported;
    return result;
  };

  for (const std::string_view parameter : split_on_spaces(text)) {
    const std::size_t equals = parameter.find('=');
    const std::string_view keyword = parameter.substr(0, equals);
    const bool has_value = equals != std::string_view::npos;
    const std::string_view value = has_value ? parameter.substr(equals + 1) : std::string_view{};

    if (equals_ignoring_case(keyword, "SIZE")) {
      // RFC 1870 §3: the client's estimate; refuse early what the limit refuses later.
      const std::optional<std::size_t> size = parse_decimal(value);
      if (seen_size || !has_value || !size) return unsupported();
      seen_size = true;
      if (*size > max_message_size) {
        result.problem = ParameterProblem::TooLarge;
        return result;
      }
    } else if (equals_ignoring_case(keyword, "BODY")) {
      if (seen_body || !has_value) return unsupported();
      seen_body = true;
      if (equals_ignoring_case(value, "7BIT")) {
        result.parameters.body = BodyType::SevenBit;
      } else if (equals_ignoring_case(value, "8BITMIME")) {
        result.parameters.body = BodyType::EightBitMime;
      } else {
        return unsupported();  // BINARYMIME needs CHUNKING, which is not offered (RFC 3030)
      }
    } else if (equals_ignoring_case(keyword, "SMTPUTF8")) {
      if (seen_smtputf8 || has_value) return unsupported();
      seen_smtputf8 = true;
      result.parameters.smtputf8 = true;
    } else if (equals_ignoring_case(keyword, "AUTH")) {
      if (seen_auth || value.empty()) return unsupported();
      seen_auth = true;
    } else {
      return unsupported();
    }
  }
  return result;
}

std::optional<std::string_view> strip_source_route(std::string_view path) {
  if (path.empty() || path.front() != '@') return path;
  const std::size_t colon = path.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view route = path.substr(0, colon);
  // A-d-l = At-domain *( "," At-domain )
  for (;;) {
    const std::size_t comma = route.find(',');
    const std::string_view hop = route.substr(0, comma);
    if (hop.size() < 2 || hop.front() != '@' || !is_valid_domain(hop.substr(1))) return std::nullopt;
    if (comma == std::string_view::npos) break;
    route.remove_prefix(comma + 1);
  }
  return path.substr(colon + 1);
}

MailboxProblem check_mailbox(std::string_view mailbox, bool smtputf8) {
  if (mailbox.empty() || mailbox.size() > kMaxMailboxLength) return MailboxProblem::BadSyntax;
  bool non_ascii = false;
  for (const char c : mailbox) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= ' ' || byte == 0x7F) return MailboxProblem::BadSyntax;
    non_ascii = non_ascii || is_non_ascii(byte);
  }
  if (non_ascii && !is_valid_utf8(mailbox)) return MailboxProblem::BadSyntax;

  const std::size_t at = mailbox.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == mailbox.size()) return MailboxProblem::BadSyntax;
  if (!is_valid_local_part(mailbox.substr(0, at)) || !is_valid_domain(mailbox.substr(at + 1))) {
    return MailboxProblem::BadSyntax;
  }
  if (non_ascii && !smtputf8) return MailboxProblem::NonAsciiWithoutSmtpUtf8;
  return MailboxProblem::None;
}

}  // namespace smtp
