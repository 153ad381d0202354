// The header From/Sender policy: may the authenticated user put these mailboxes in From:/Sender:?
//
// At the end of DATA, after the envelope sender passed the same rule at MAIL FROM, call
// check_header_senders() with the message, the user's grants and the sender policy. It refuses
// a message whose From: or Sender: names a mailbox the user may not send as, so a granted
// envelope cannot carry a forged author. On refusal `reason` is a short phrase for the reply
// `550 5.7.1 Sender address rejected: <reason>` and the log; it never contains CR or LF.
// Pure: no I/O, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "postern/schema/sender_rule.hpp"

namespace postern::filters {

struct HeaderSenderCheck {
  bool allowed = false;
  std::string reason;  // empty when allowed, e.g. "header From <x@y> not owned by user"
};

// What to do with a From:/Sender: display name or comment that looks like an address
// (display_name.hpp): `"ceo@victim.example" <me@mine.example>` shows the victim to the reader.
enum class AddressLikeDisplayNames { Refuse, Allow };

// RFC 5322 §3.6.2: every mailbox of the From: field and the Sender: mailbox must pass
// schema::may_send_as(). Refused as well: no From: field, more than one From: or Sender: field
// (§3.6), a group in either field, a Sender: with more than one mailbox, any value that does not
// parse, and (unless allowed) a display name or comment that looks like an address other than
// the user's own. Reasons: "message has no From header", "message has more than one From
// header", "malformed From header: <detail>", "header From <a@d> not owned by user",
// "header From display name looks like an address", "header From comment looks like an
// address", and the same for Sender. The address shown is as schema::parse_address() normalised
// it.
HeaderSenderCheck check_header_senders(std::string_view message, const schema::UserGrants& grants,
                                       const schema::SenderPolicy& policy,
                                       AddressLikeDisplayNames display_names = AddressLikeDisplayNames::Refuse);

}  // namespace postern::filters
