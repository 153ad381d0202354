// What an upstream offers, from its EHLO reply (RFC 5321 §4.1.1.1: the first line is the
// server's name, each later line one keyword and its parameters; keywords are case-insensitive).
// Call parse_ehlo(reply) on the 250 reply to EHLO; a server greeted with HELO offers nothing.
#pragma once

#include "server/smtp/reply.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smtp_client {

struct Capabilities {
  bool pipelining = false;             // RFC 2920
  bool size = false;                   // RFC 1870: SIZE offered
  std::uint64_t max_size = 0;          // its limit; 0 = offered without a (usable) limit
  bool eight_bit_mime = false;         // RFC 6152
  bool smtputf8 = false;               // RFC 6531
  bool starttls = false;               // RFC 3207
  bool enhanced_status_codes = false;  // RFC 2034
  std::vector<std::string> auth;       // SASL mechanisms, upper case, "AUTH x y" and old "AUTH=x y"

  bool offers_auth(std::string_view mechanism) const;
};

Capabilities parse_ehlo(const smtp::Reply& reply);

}  // namespace smtp_client
