// A small RFC 5322 address-list parser for the From:, Sender: and similar header fields.
//
// Call parse_address_list() with a field value already unfolded (header_block.hpp unfold()).
// It finds every mailbox's addr-spec, and apart from them what a reader shows but does not
// route on: display names and comments (encoded-words are left encoded). Groups are accepted and
// reported so the caller can refuse them where RFC 5322 does not allow them (From:, Sender:).
// The addr-specs come back as `local@domain` text for schema::parse_address(), which does the
// address syntax and domain normalisation. Pure: no I/O, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace postern::filters {

struct AddressList {
  // Every mailbox's addr-spec (RFC 5322 §3.4.1), including those inside groups, in order, with
  // comments and whitespace removed: `a.b@example.com`, `"a b"@example.com`, `x@[192.0.2.1]`.
  std::vector<std::string> addr_specs;
  // The display name of each name-addr mailbox ("Alice Smith" <a@b>), as a reader shows it:
  // words joined by one space, quoted strings without their quotes and quoted-pairs undone. Not
  // group names. In order; mailboxes without one add nothing.
  std::vector<std::string> display_names;
  // The text of every comment in the value, without its outer parentheses, quoted-pairs undone:
  // `a@b (Alice)` gives "Alice". Readers show a comment after an address as its name.
  std::vector<std::string> comments;
  bool has_group = false;  // a group ("name: a@b, c@d;" or "undisclosed-recipients:;") was seen
  std::string error;       // empty on success, else a short fixed phrase ("unclosed comment")
};

// RFC 5322 §3.4 address-list. Obsolete syntax (§4.4) is tolerated where it does not change which
// mailbox is meant: CFWS around the dots of a local part or domain, empty list elements
// ("a@b, , c@d"), a source route in an angle-addr ("<@relay:a@b>"), and "." in display names.
// An empty value, an address without "@", a bare word, or a control character is an error; on
// error every list of the result is empty.
AddressList parse_address_list(std::string_view value);

}  // namespace postern::filters
