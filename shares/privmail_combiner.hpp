// Combines the shares of one `privmail` message (one UID) into its Subject and text. The format
// carries no hash, no share index and no share count, so what can be checked is its blocks:
// every share must have the same layout (Subject, body and truncated shares of equal lengths,
// the same bucket blocks with as many entries), and the combined truncated block must be the
// combined body's truncated text, word for word (in SixBit, where upper and lower case are one).
// A missing share, a damaged one or one of another message turns both into unrelated random
// values, so that check fails for all but the shortest texts (an empty text cannot tell; nor can
// anything tell a damaged Subject share). '?' counts as white space in that comparison, since
// PrivMail turns non-ASCII characters into '?' after Python has split the text at non-ASCII
// white space (a no-break space, say).
//
//   PrivmailCombination combined = combine_privmail_shares(group);   // all shares of one UID
//   if (combined.error.empty()) write(combined.subject, combined.text);
//
// XOR is order-free, so the shares may come in any order; each must be there once. The shares
// of an empty Subject and text are all alike, so one of them is enough.
#pragma once

#include "shares/privmail_share_mail_parser.hpp"

#include <span>
#include <string>

namespace postern::shares {

struct PrivmailCombination {
  std::string subject;  // 7-bit ASCII
  std::string text;     // 7-bit ASCII
  std::string error;    // empty when the blocks agree, else why not
};

PrivmailCombination combine_privmail_shares(std::span<const PrivmailShare> shares);

// Whether `truncated` (SixBit values) is what PrivMail makes of `text`: both split into words at
// white space and '?', the words equal in SixBit.
bool truncated_text_matches(std::string_view text, std::string_view truncated);

}  // namespace postern::shares
