#include "server/filters/header_senders.hpp"

#include <utility>

#include "postern/schema/address.hpp"
#include "server/filters/address_list.hpp"
#include "server/filters/display_name.hpp"
#include "server/filters/header_block.hpp"

namespace postern::filters {
namespace {

HeaderSenderCheck refuse(std::string reason) { return {false, std::move(reason)}; }

// The reason a display name or comment of the field shows an address-like text, or empty.
std::string check_shown_text(std::string_view name, const AddressList& list,
                             const schema::UserGrants& grants, const schema::SenderPolicy& policy) {
  for (const auto& text : list.display_names) {
    if (display_name_looks_like_address(text, grants, policy)) {
      return "header " + std::string(name) + " display name looks like an address";
    }
  }
  for (const auto& text : list.comments) {
    if (display_name_looks_like_address(text, grants, policy)) {
      return "header " + std::string(name) + " comment looks like an address";
    }
  }
  return {};
}

// The reason the field's mailboxes are not all the user's, or empty when they are. `name` is
// "From" or "Sender", as the reasons spell it; Sender takes exactly one mailbox (§3.6.2).
std::string check_field(std::string_view name, const HeaderField& field,
                        const schema::UserGrants& grants, const schema::SenderPolicy& policy,
                        AddressLikeDisplayNames display_names) {
  const std::string malformed = "malformed " + std::string(name) + " header: ";
  const auto list = parse_address_list(unfold(field.value));
  if (!list.error.empty()) return malformed + list.error;
  // §3.6.2: From is a mailbox-list and Sender a mailbox; neither admits a group.
  if (list.has_group) return malformed + "group syntax not allowed";
  if (name == "Sender" && list.addr_specs.size() != 1) return malformed + "more than one mailbox";
  for (const auto& spec : list.addr_specs) {
    const auto address = schema::parse_address(spec);
    if (!address) return malformed + address.error;
    if (!schema::may_send_as(grants, *address, policy).allowed) {
      return "header " + std::string(name) + " <" + address->str() + "> not owned by user";
    }
  }
  if (display_names == AddressLikeDisplayNames::Allow) return {};
  return check_shown_text(name, list, grants, policy);
}

}  // namespace

HeaderSenderCheck check_header_senders(std::string_view message, const schema::UserGrants& grants,
                                       const schema::SenderPolicy& policy,
                                       AddressLikeDisplayNames display_names) {
  const auto block = parse_header_block(message);
  // RFC 5322 §3.6: exactly one From field, at most one Sender field.
  const auto from_fields = count_fields(block, "From");
  if (from_fields == 0) return refuse("message has no From header");
  if (from_fields > 1) return refuse("message has more than one From header");
  if (count_fields(block, "Sender") > 1) return refuse("message has more than one Sender header");
  for (const auto* name : {"From", "Sender"}) {
    for (const auto& field : block.fields) {
      if (!is_field(field, name)) continue;
      if (auto reason = check_field(name, field, grants, policy, display_names); !reason.empty()) {
        return refuse(std::move(reason));
      }
    }
  }
  return {true, {}};
}

}  // namespace postern::filters
