// The sender rule: may this authenticated user use this address as MAIL FROM (and in From:)?
//
// Call may_send_as() with the user's grants as stored, the sender as returned by
// parse_address(), and the configured policy. It is pure and does no IDNA or database work,
// so it is cheap enough for every MAIL FROM and every From:/Sender: address of a message.
// Loading the grants (and answering 4xx when that fails) is the caller's job.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "postern/schema/address.hpp"

namespace postern::schema {

struct SenderPolicy {
  bool local_part_case_sensitive = false;  // default: local parts compare case-insensitively
  std::string subaddress_delimiter;        // e.g. "+"; empty = no subaddress mapping
};

struct UserGrants {                    // what a user was granted, as stored (normalised)
  std::vector<std::string> addresses;  // "local@domain" with the domain already normalised
  std::vector<std::string> domains;    // normalised domains
};

enum class GrantKind { None, Address, Domain };

struct SenderDecision {
  bool allowed = false;
  GrantKind via = GrantKind::None;
  std::string grant;  // the grant that matched, as stored ("a@d" or "d"); empty if none
};

// Allowed when the user holds the address grant `local@domain` or the domain grant `domain`,
// tried in that order; failing both, `a+tag@d` is tried as the address grant `a@d` when a
// subaddress delimiter is configured (dot-string local parts only). Domains compare exactly
// (ASCII case aside): a grant of `example.com` does not cover `sub.example.com`. Local parts
// compare with ASCII case folding unless policy.local_part_case_sensitive; quoted local parts
// are not unquoted, so `"ab"@d` and `ab@d` are different senders.
SenderDecision may_send_as(const UserGrants& grants, const Address& sender,
                           const SenderPolicy& policy);

// Whether an envelope address, as the client wrote it, is `mailbox` or, with `mailbox` empty,
// lies in `domain` (that domain exactly, not its subdomains): how configured rules (routes,
// handlers' `when`) pick mail by address. `mailbox` and `domain` are normalised as a config holds
// them. The address is compared as the sender rule compares it, with ASCII case folding of the
// local part whatever the policy (a case variant must not escape a rule) and with its subaddress
// (`a+tag@d` is `a@d` with delimiter "+"), so no spelling the grant check lets through escapes a
// rule; one that does not parse (a queue row of an older release) is compared as written.
bool address_matches(std::string_view address, std::string_view mailbox, std::string_view domain,
                     std::string_view subaddress_delimiter);

}  // namespace postern::schema
