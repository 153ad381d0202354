// The `postern` share mail: one share as an RFC 5322 message with CRLF line ends, made while the
// share streams. Its header section tells nothing of the original (a fixed Subject, no original
// header field) and its size only the share's 4 KiB bucket:
//
//   From: <from>
//   To: <to>
//   Date: <date>
//   Message-ID: <message_id>
//   Subject: Encrypted message share
//   MIME-Version: 1.0
//   X-Postern-Share: v=1; scheme=shamir; id=<32 hex>;
//    index=2; k=2; n=3
//   Content-Type: multipart/mixed;
//    boundary="=_postern_share_<id>"
//
//   --=_postern_share_<id>
//   Content-Type: text/plain; charset=us-ascii       (a short note for whoever opens it)
//   ...
//   --=_postern_share_<id>
//   Content-Type: application/octet-stream;
//    name="postern-share-<id>-<index>.bin"
//   Content-Transfer-Encoding: base64
//   Content-Disposition: attachment;
//    filename="postern-share-<id>-<index>.bin"
//
//   <the share bytes, base64 in lines of 76>
//   --=_postern_share_<id>--
//
// Long fields are folded so that no line exceeds 78 characters (RFC 5322 §2.1.1).
// The boundary holds "_", which base64 never does, so no share line can end the part.
//
//   ShareMailEncoder encoder(fields);
//   for (piece : share) send(encoder.encode(piece));   // the first call also yields the head
//   send(encoder.finish());
//
// A retry must produce the same mail, so the caller passes a Date and Message-ID that it keeps
// (taken from the queue), never the current time.
#pragma once

#include "shares/base64_lines.hpp"
#include "shares/share_metadata.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace postern::shares {

inline constexpr std::string_view kShareSubject = "Encrypted message share";

struct ShareMailFields {
  std::string from;        // the From field's value, e.g. "alice@example.com"
  std::string to;          // the To field's value: the destination mailbox
  std::string date;        // RFC 5322 date-time, e.g. "Tue, 02 Jan 2024 10:00:00 +0000"
  std::string message_id;  // with its angle brackets: "<...@relay.example>"
  ShareMetadata share;
};

class ShareMailEncoder {
 public:
  // Throws std::invalid_argument when a field is empty or holds a CR, LF or NUL, or the share's
  // parameters are unusable.
  explicit ShareMailEncoder(const ShareMailFields& fields);

  // The mail's next bytes for the share's next piece.
  std::string encode(std::string_view share_piece);

  // The rest of the mail, to the closing boundary.
  std::string finish();

  // The mail's exact size for a share of `share_size` bytes, known before the first piece (for
  // SMTP's SIZE parameter).
  std::uint64_t mail_size(std::uint64_t share_size) const;

 private:
  std::string head_;   // header section and the parts up to the base64 text
  std::string close_;  // the closing boundary
  bool head_sent_ = false;
  Base64LineEncoder base64_;
};

}  // namespace postern::shares
