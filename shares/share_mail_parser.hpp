// Reads a `postern` share mail (share_mail.hpp) back: its X-Postern-Share metadata and its share
// bytes. Mail that travelled through providers and mailboxes comes back changed in harmless ways,
// so the parser takes LF as well as CRLF line ends, folded header fields, added header fields
// (Received:, Return-Path:, an mbox "From " line), any base64 line length and any MIME preamble;
// what it cannot trust it refuses with a reason.
//
//   ParsedShareMail parsed = parse_share_mail(mail_bytes);
//   switch (parsed.status) {
//     case ParsedShareMail::Status::Share: use(parsed.share, parsed.bytes); break;
//     case ParsedShareMail::Status::NotAShare: break;       // ordinary mail in the mailbox
//     case ParsedShareMail::Status::Bad: report(parsed.error); break;
//   }
#pragma once

#include "shares/share_metadata.hpp"

#include <string>
#include <string_view>

namespace postern::shares {

struct ParsedShareMail {
  enum class Status {
    Share,      // metadata and bytes are filled in
    NotAShare,  // no X-Postern-Share header field
    Bad,        // a share mail that cannot be used; error says why
  };
  Status status = Status::NotAShare;
  ShareMetadata share;
  std::string bytes;
  std::string error;
};

// The share's size must be a positive multiple of 4096 (secret_framing.hpp), so a truncated
// share is caught here, before combining.
ParsedShareMail parse_share_mail(std::string_view mail);

}  // namespace postern::shares
