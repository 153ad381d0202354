// The sender rule: may this authenticated user use this address as MAIL FROM (and in From:)?
//
// Call may_send_as() with the user's grants as stored, the sender as returned by
// parse_address(), and the configured policy. It is pure and does no IDNA or database work,
// so it is cheap enough for every MAIL FROM and every From:/Sender: address of a message.
// Loading the grants (and answering 4xx when that fails) is the caller's job.
#pragma once

#include <string>
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

}  // namespace postern::schema
