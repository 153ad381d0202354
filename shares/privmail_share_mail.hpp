// The `privmail` share mail: one of n XOR shares of a message's Subject and text, written byte
// for byte as PrivMail's Sender Client Proxy writes it (Python's EmailMessage, Ver1.0 blocks),
// so that PrivMail's receiver script and its Receiver SMTP Server read what Postern sends:
//
//   From: <the original From>                  copied, as are To and Cc (when not empty)
//   To: <the original To>
//   Subject: <UID, 8 characters><base64 of the Subject's share>
//   Content-Type: text/plain; charset="utf-8"
//   Content-Transfer-Encoding: 7bit
//   MIME-Version: 1.0
//
//   -----BEGIN SECRET SHARE BLOCK Ver1.0-----    (privmail_blocks.hpp)
//   ...
//
// Shares: XOR n-of-n of 7-bit values for the Subject and text, of 6-bit SixBit values for the
// truncated text and each bucket word (privmail_text.hpp, privmail_sixbit.hpp). Share n is the
// secret XOR the others; PrivMail's receivers combine in any order and need no index. Lines end
// in CRLF, as the mail travels; no Date, no Message-ID (PrivMail sets none).
//
// Everything random (the UID, the shares, the bucket words' order) is drawn from the group's
// seed (derive_seed(group_seed, "privmail ...") keystreams), so the same content, index, count
// and seed give the same mail byte for byte, pass after pass, and every share of one seed
// combines with the others:
//
//   Seed group_seed = derive_seed(message_seed, recipient);
//   PrivmailShape shape = check_privmail_shape(message);          // refuse when !shape.content
//   std::string mail = write_privmail_share_mail(*shape.content, 2, 3, group_seed);
//
// The mail is made whole in memory: at most about 6 times the text's size (the body and
// truncated shares in base64, and a padded share per distinct word), so at most about 6 MiB for
// the 1 MiB messages check_privmail_shape accepts.
//
// Two deliberate differences from PrivMail's Python, both where PrivMail's own output would
// break its receiver or is a bug: a Subject line longer than 78 characters stays one line (up
// to 998, as check_privmail_shape bounds it) where Python would fold it into RFC 2047
// encoded-words that receive_mail.py cannot slice; a missing From or To is left out where
// Python writes "To: None". A From, To or Cc value is written unfolded, as Python does, when
// that fits in 78 characters, else with the sender's own folding.
#pragma once

#include "shares/privmail_message_shape.hpp"
#include "shares/seed.hpp"

#include <string>

namespace postern::shares {

// The 8-character UID of the group: base64 of 6 bytes drawn from the seed.
std::string privmail_uid(const Seed& group_seed);

// Share mail `index` (1..count) of `count`. Throws std::invalid_argument for a count outside
// 2..255, an index outside 1..count, or content that check_privmail_shape would not give (a
// non-ASCII character, a Subject too long or with a line break).
std::string write_privmail_share_mail(const PrivmailContent& content, unsigned index, unsigned count,
                                      const Seed& group_seed);

}  // namespace postern::shares
