#include "postern/schema/sender_rule.hpp"

#include <algorithm>
#include <string_view>

namespace postern::schema {
namespace {

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// ASCII folding only: UTF-8 local parts compare byte for byte, since RFC 6531 defines no case
// mapping for them, and stored domains are already lowercase A-labels (bar legacy rows).
bool ascii_iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

bool same_local_part(std::string_view a, std::string_view b, const SenderPolicy& policy) {
  return policy.local_part_case_sensitive ? a == b : ascii_iequal(a, b);
}

// A stored address grant splits at its last "@": a quoted local part may hold one, a domain
// never does.
const std::string* find_address_grant(const UserGrants& grants, std::string_view local,
                                      std::string_view domain, const SenderPolicy& policy) {
  for (const auto& grant : grants.addresses) {
    const auto at = grant.rfind('@');
    if (at == std::string::npos) continue;
    const std::string_view granted(grant);
    if (ascii_iequal(granted.substr(at + 1), domain) &&
        same_local_part(granted.substr(0, at), local, policy)) {
      return &grant;
    }
  }
  return nullptr;
}

}  // namespace

SenderDecision may_send_as(const UserGrants& grants, const Address& sender,
                           const SenderPolicy& policy) {
  // A hand-built, half-empty address must never match a malformed grant.
  if (sender.local.empty() || sender.domain.empty()) return {};

  if (const auto* grant = find_address_grant(grants, sender.local, sender.domain, policy)) {
    return {true, GrantKind::Address, *grant};
  }
  for (const auto& domain : grants.domains) {
    if (ascii_iequal(domain, sender.domain)) return {true, GrantKind::Domain, domain};
  }

  // Subaddressing (RFC 5233): "a+tag" is mailbox "a". Not for quoted local parts, whose
  // delimiter could sit inside the quotes.
  const auto& delimiter = policy.subaddress_delimiter;
  if (delimiter.empty() || sender.local.front() == '"') return {};
  const auto cut = sender.local.find(delimiter);
  if (cut == std::string::npos || cut == 0) return {};
  const std::string_view base = std::string_view(sender.local).substr(0, cut);
  if (const auto* grant = find_address_grant(grants, base, sender.domain, policy)) {
    return {true, GrantKind::Address, *grant};
  }
  return {};
}

bool address_matches(std::string_view address, std::string_view mailbox, std::string_view domain,
                     std::string_view subaddress_delimiter) {
  const auto parsed = parse_address(address);
  if (!parsed) {
    if (!mailbox.empty()) return ascii_iequal(mailbox, address);
    const auto at = address.rfind('@');
    return at != std::string_view::npos && ascii_iequal(domain, address.substr(at + 1));
  }
  if (!mailbox.empty()) {
    const SenderPolicy policy{false, std::string(subaddress_delimiter)};
    return may_send_as(UserGrants{{std::string(mailbox)}, {}}, *parsed, policy).allowed;
  }
  return ascii_iequal(domain, parsed->domain);
}

}  // namespace postern::schema
