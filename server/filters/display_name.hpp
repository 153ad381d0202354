// Display names that impersonate. Mail readers show a From: field's display name, not its
// address, so `From: "ceo@victim.example" <me@mine.example>` reads as mail from the victim
// although the address is the sender's own. The header From policy (header_senders.hpp) asks
// display_name_looks_like_address() about each display name and comment of From: and Sender:.
// Pure: no I/O (bar iconv loading a converter, see encoded_words.hpp), thread-safe.
#pragma once

#include <string_view>

#include "postern/schema/sender_rule.hpp"

namespace postern::filters {

// Whether `text` (a display name or comment, its quoting already undone) shows something
// address-like once its RFC 2047 encoded-words are decoded: an at-sign with a full stop after it,
// an angle bracket, or an at-sign in text whose display order is overridden (a bidirectional
// control could show "elpmaxe.mitciv@oec" reversed). The at-sign, full stop and angle brackets
// count in their full-width and small forms as well. Addresses the user may send as anyway
// (schema::may_send_as, e.g. `"alice@example.com" <alice@example.com>`, which many clients
// write) are left out of the judgement, with angle brackets right around them.
bool display_name_looks_like_address(std::string_view text, const schema::UserGrants& grants,
                                     const schema::SenderPolicy& policy);

}  // namespace postern::filters
