// Mail addresses, domains and user names as Postern stores and compares them.
//
// Anything that enters from outside (a MAIL FROM path, a `mailadmin` argument, a legacy row)
// goes through one of these calls first: parse_address() for a mailbox, normalize_domain() for
// a domain grant, normalize_user_name() for a login name. Each returns either the canonical
// value or a one-line error ready for a CLI message or an SMTP reply text, in the form
// `invalid address "x": local part is empty`. Pure functions: no I/O, no locale, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace postern::schema {

struct Address {
  std::string local;   // local part as written; a quoted local part keeps its quotes ("a b")
  std::string domain;  // lowercase ASCII; IDNA A-label (xn--...) for internationalised domains
  std::string str() const;  // local + "@" + domain
};

// A value, or a one-line human error such as
// `invalid domain "x": domain needs at least two labels`.
template <class T>
struct Parsed {
  std::optional<T> value;
  std::string error;  // empty when value is set

  explicit operator bool() const { return value.has_value(); }
  const T& operator*() const { return *value; }
  const T* operator->() const { return &*value; }
};

// An RFC 5321 Mailbox without angle brackets: a dot-string or quoted local part, "@", and a
// domain name of at least two labels. Address literals ([1.2.3.4]) are refused, as is any
// leading or trailing whitespace (callers trim). The domain is normalised as by
// normalize_domain(); the local part is kept as written, including its case.
Parsed<Address> parse_address(std::string_view text);

// A sending domain for a grant: lowercased, converted to its IDNA A-label form, trailing dot
// removed; at least two labels of letters, digits and inner hyphens, at most 253 octets.
Parsed<std::string> normalize_domain(std::string_view domain);

// A login name: ASCII lowercased (as Secure Emailing did), 1 to 200 octets of [a-z0-9._@+-],
// starting with a letter or digit. Nothing is trimmed.
Parsed<std::string> normalize_user_name(std::string_view name);

}  // namespace postern::schema
