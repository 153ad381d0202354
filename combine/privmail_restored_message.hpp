// The message postern-combine writes for a combined `privmail` group: what the format carries of
// the original, which is its From, To and Cc (copied in clear into the share mails), its Subject
// and its text:
//
//   From: <as in the share mails>
//   To: <as in the share mails>
//   Cc: <as in the share mails, when they have one>
//   Subject: <the combined Subject>
//   MIME-Version: 1.0
//   Content-Type: text/plain; charset=us-ascii
//   Content-Transfer-Encoding: 7bit
//
//   <the combined text, byte for byte>
//
// The text goes as it is (7bit) when it is lines of at most 998 characters ending in CRLF,
// without NUL, which is how a text/plain body submitted over SMTP comes back; else it goes in
// base64, so that its bytes are kept whatever they are. A Subject with a line break or NUL
// cannot be written and makes RestoredMessage::problem say so.
//
//   RestoredMessage restored = restored_privmail_message(fields, combined.subject, combined.text);
#pragma once

#include "shares/privmail_share_mail_parser.hpp"

#include <string>
#include <string_view>

namespace postern::combine {

struct RestoredMessage {
  std::string message;
  std::string problem;  // empty when `message` is set
};

// `fields` gives the From, To and Cc (one of the group's shares).
RestoredMessage restored_privmail_message(const shares::PrivmailShare& fields, std::string_view subject,
                                          std::string_view text);

}  // namespace postern::combine
