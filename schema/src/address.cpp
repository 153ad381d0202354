#include "postern/schema/address.hpp"

#include "utf8.hpp"

#include <idn2.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <memory>

namespace postern::schema {
namespace {

constexpr std::size_t kMaxLocalPart = 64;   // RFC 5321 §4.5.3.1.1
constexpr std::size_t kMaxDomain = 253;     // RFC 1035 §2.3.4: 255 on the wire, less 2 octets
constexpr std::size_t kMaxLabel = 63;       // RFC 1035 §2.3.4
constexpr std::size_t kMaxAddress = 254;    // RFC 5321 §4.5.3.1.3: 256-octet path less "<>"
constexpr std::size_t kMaxUserName = 200;
constexpr std::size_t kMaxEcho = 100;       // keeps any error inside a 512-octet SMTP reply line

bool is_ascii_alnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

// RFC 5322 §3.2.3 atext, ASCII part.
bool is_atext(unsigned char c) {
  static constexpr std::string_view specials = "!#$%&'*+-/=?^_`{|}~";
  return is_ascii_alnum(c) || specials.find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_ascii_control(unsigned char c) { return c < 0x20 || c == 0x7f; }
bool is_c1_control(char32_t cp) { return cp >= 0x80 && cp <= 0x9f; }


bool is_valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto ch = utf8_at(s, i);
    if (ch.size == 0) return false;
    i += ch.size;
  }
  return true;
}

// The refused input is echoed so the user sees what was wrong with it, but escaped (it may come
// from the network and must not break the line) and cut short.
std::string echo(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size() && i < kMaxEcho) {
    const auto c = static_cast<unsigned char>(text[i]);
    const auto ch = utf8_at(text, i);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (ch.size == 0 || is_ascii_control(c) || is_c1_control(ch.cp)) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
      ++i;
    } else {
      out.append(text.substr(i, ch.size));
      i += ch.size;
    }
  }
  if (i < text.size()) out += "...";
  return out;
}

std::string failure(std::string_view what, std::string_view text, std::string_view reason) {
  std::string out = "invalid ";
  out.append(what).append(" \"").append(echo(text)).append("\": ").append(reason);
  return out;
}

// Names a byte that is not allowed where it was found.
std::string describe(unsigned char c) {
  if (c == ' ') return "a space";
  if (is_ascii_control(c)) return "a control character";
  if (c >= 0x80) return "a non-ascii character";
  return std::string("invalid character '") + static_cast<char>(c) + "'";
}

// A reason without the `invalid ... "x":` prefix, so the address and domain errors can share it.
using Reason = std::string;

struct LocalPartEnd {
  std::size_t at = 0;  // index of the "@" after the local part
  Reason error;
};

// RFC 5321 §4.1.2 Dot-string = Atom *("." Atom), with RFC 6531 §3.3 admitting UTF-8 in atext.
LocalPartEnd scan_dot_string(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && text[i] != '@') {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '.') {
      if (i == 0) return {i, "local part starts with a dot"};
      if (text[i - 1] == '.') return {i, "local part has two dots in a row"};
      ++i;
    } else if (c < 0x80) {
      if (!is_atext(c)) return {i, "local part contains " + describe(c)};
      ++i;
    } else {
      const auto ch = utf8_at(text, i);
      if (ch.size == 0) return {i, "local part is not valid utf-8"};
      if (is_c1_control(ch.cp)) return {i, "local part contains a control character"};
      i += ch.size;
    }
  }
  if (i == 0) return {i, "local part is empty"};
  if (i == text.size()) return {i, "missing @"};
  if (text[i - 1] == '.') return {i, "local part ends with a dot"};
  return {i, {}};
}

// RFC 5321 §4.1.2 Quoted-string: qtextSMTP is %d32-33 / %d35-91 / %d93-126 and
// quoted-pairSMTP is "\" %d32-126. The RFC 6531 extension to UTF-8 is not taken: printable
// ASCII only.
LocalPartEnd scan_quoted_string(std::string_view text) {
  std::size_t i = 1;  // past the opening quote
  while (true) {
    if (i >= text.size()) return {i, "quoted local part is not closed"};
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '"') break;
    if (c == '\\') {
      if (++i >= text.size()) return {i, "quoted local part is not closed"};
      c = static_cast<unsigned char>(text[i]);
    }
    if (c >= 0x80) return {i, "quoted local part contains a non-ascii character"};
    if (is_ascii_control(c)) return {i, "quoted local part contains a control character"};
    ++i;
  }
  ++i;  // past the closing quote
  // The grammar allows "" but no one can be granted, or send as, an empty mailbox name.
  if (i == 2) return {i, "local part is empty"};
  if (i == text.size()) return {i, "missing @"};
  if (text[i] != '@') return {i, "quoted local part must be followed by @"};
  return {i, {}};
}

// Only letters, digits, hyphens and dots may reach, or leave, IDNA processing (RFC 1123
// §2.1 host names); checking the input first also keeps NUL bytes away from idn2's C strings.
Reason invalid_domain_character(std::string_view domain) {
  for (const char ch : domain) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80 && !is_ascii_alnum(c) && c != '-' && c != '.') {
      return "domain contains " + describe(c);
    }
  }
  return {};
}

Reason idna_failure(int rc) {
  if (rc == IDN2_TOO_BIG_LABEL || rc == IDN2_PUNYCODE_BIG_OUTPUT) {
    return "domain label is longer than 63 octets";
  }
  if (rc == IDN2_TOO_BIG_DOMAIN) return "domain is longer than 253 octets";
  return std::string("domain is not valid idna: ") + idn2_strerror(rc);
}

// UTS #46 processing to A-labels: non-transitional first (IDNA2008: "ß" stays distinct from
// "ss"), then transitional, which still accepts names in use that IDNA2008 disallows (emoji).
Parsed<std::string> to_a_labels(const std::string& domain) {
  char* out = nullptr;
  const int rc = idn2_to_ascii_8z(domain.c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
  if (rc != IDN2_OK &&
      idn2_to_ascii_8z(domain.c_str(), &out, IDN2_NFC_INPUT | IDN2_TRANSITIONAL) != IDN2_OK) {
    return {std::nullopt, idna_failure(rc)};
  }
  const std::unique_ptr<char, decltype(&idn2_free)> owned(out, &idn2_free);
  return {std::string(out), {}};
}

bool has_a_label_prefix(std::string_view domain) {
  for (std::size_t start = 0; start <= domain.size();) {
    const auto end = std::min(domain.find('.', start), domain.size());
    const auto label = domain.substr(start, end - start);
    if (label.size() >= 4 && ascii_lower(label[0]) == 'x' && ascii_lower(label[1]) == 'n' &&
        label[2] == '-' && label[3] == '-') {
      return true;
    }
    start = end + 1;
  }
  return false;
}

// The canonical form of a domain, or the reason it has none.
Parsed<std::string> canonical_domain(std::string_view domain) {
  const auto fail = [](Reason reason) { return Parsed<std::string>{std::nullopt, reason}; };
  if (domain.empty()) return fail("domain is empty");
  // RFC 5321 §4.1.3 address literals name a host; only domain names can be granted.
  if (domain.front() == '[') return fail("address literals are not allowed");
  // A trailing dot only marks the name as absolute (RFC 1034 §3.1).
  if (domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty()) return fail("domain is empty");
  if (auto reason = invalid_domain_character(domain); !reason.empty()) return fail(reason);

  std::string ascii(domain);
  const bool has_utf8 = std::any_of(domain.begin(), domain.end(),
                                    [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
  if (has_utf8 && !is_valid_utf8(domain)) return fail("domain is not valid utf-8");
  // U-labels become A-labels; existing A-labels go through idn2 too, so one that does not
  // decode (RFC 5890 §2.3.2.1) is refused rather than stored as a grant nothing can match.
  if (has_utf8 || has_a_label_prefix(domain)) {
    auto converted = to_a_labels(ascii);
    if (!converted) return converted;
    ascii = std::move(*converted.value);
    if (auto reason = invalid_domain_character(ascii); !reason.empty()) return fail(reason);
  }
  for (auto& c : ascii) c = ascii_lower(c);

  // RFC 1035 §2.3.1 labels as relaxed by RFC 1123 §2.1: letters, digits, inner hyphens.
  std::size_t labels = 0;
  std::string_view last;
  for (std::size_t start = 0; start <= ascii.size(); ++labels) {
    const auto end = std::min(ascii.find('.', start), ascii.size());
    last = std::string_view(ascii).substr(start, end - start);
    if (last.empty()) return fail("domain has an empty label");
    if (last.size() > kMaxLabel) return fail("domain label is longer than 63 octets");
    if (last.front() == '-') return fail("domain label starts with a hyphen");
    if (last.back() == '-') return fail("domain label ends with a hyphen");
    start = end + 1;
  }
  if (labels < 2) return fail("domain needs at least two labels");
  // RFC 3696 §2: a top-level label is never all-numeric, so "1.2.3.4" is no domain name
  // (and no way around the ban on address literals).
  if (last.find_first_not_of("0123456789") == std::string_view::npos) {
    return fail("domain ends in an all-numeric label");
  }
  if (ascii.size() > kMaxDomain) return fail("domain is longer than 253 octets");
  return {std::move(ascii), {}};
}

}  // namespace

std::string Address::str() const { return local + "@" + domain; }

Parsed<Address> parse_address(std::string_view text) {
  const auto fail = [text](std::string_view reason) {
    return Parsed<Address>{std::nullopt, failure("address", text, reason)};
  };
  if (text.empty()) return fail("address is empty");
  if (is_space(text.front()) || is_space(text.back())) {
    return fail("address has leading or trailing whitespace");
  }

  // RFC 5321 §4.1.2 Mailbox = Local-part "@" ( Domain / address-literal )
  const auto [at, error] = text.front() == '"' ? scan_quoted_string(text) : scan_dot_string(text);
  if (!error.empty()) return fail(error);
  if (at > kMaxLocalPart) return fail("local part is longer than 64 octets");

  auto domain = canonical_domain(text.substr(at + 1));
  if (!domain) return fail(domain.error);

  Address address{std::string(text.substr(0, at)), std::move(*domain.value)};
  if (address.local.size() + 1 + address.domain.size() > kMaxAddress) {
    return fail("address is longer than 254 octets");
  }
  return {std::move(address), {}};
}

Parsed<std::string> normalize_domain(std::string_view domain) {
  auto canonical = canonical_domain(domain);
  if (!canonical) canonical.error = failure("domain", domain, canonical.error);
  return canonical;
}

Parsed<std::string> normalize_user_name(std::string_view name) {
  const auto fail = [name](std::string_view reason) {
    return Parsed<std::string>{std::nullopt, failure("user name", name, reason)};
  };
  if (name.empty()) return fail("must not be empty");
  if (name.size() > kMaxUserName) return fail("is longer than 200 octets");
  std::string out;
  out.reserve(name.size());
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ascii_lower(ch));
    if (!is_ascii_alnum(c) && std::string_view("._@+-").find(static_cast<char>(c)) ==
                                  std::string_view::npos) {
      return fail("contains " + describe(c));
    }
    out += static_cast<char>(c);
  }
  if (!is_ascii_alnum(static_cast<unsigned char>(out.front()))) {
    return fail("must start with a letter or digit");
  }
  return {std::move(out), {}};
}

}  // namespace postern::schema
