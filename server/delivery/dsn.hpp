// The bounce: a delivery status notification (RFC 3464) telling a sender which recipients of a
// message failed and why. The delivery engine calls build_dsn() once per attempt that fails any
// recipients (a 5xx reply, or a 4xx at the end of the lifetime) and queues the result with the
// null sender <> to original_sender, so that a DSN itself never bounces (RFC 5321 §4.5.5).
//
// The message is a multipart/report (RFC 6522) with report-type=delivery-status, marked
// Auto-Submitted: auto-replied (RFC 3834 §5), in three parts: a text/plain note naming each
// failed recipient and the reason, the message/delivery-status report, and the original
// message's header section as text/rfc822-headers (never its body; left out when empty). CRLF line endings; every
// line under 998 octets (long fields are folded, an unbreakable run of over 900 characters cut).
//
// 7-bit: in the first two parts, non-ASCII text is escaped as \x{HEX} code points (RFC 6533
// §3's EmbeddedUnicodeChar) and control characters become spaces; a non-ASCII recipient is
// given as "utf-8;" address type (RFC 6533 §3). The original headers are returned unchanged
// (bare CR or LF made CRLF): when they hold 8-bit octets, that part and the whole message are
// labelled Content-Transfer-Encoding: 8bit, and the DSN must be queued as 8BITMIME. The To:
// field carries original_sender as given, so a non-ASCII sender needs SMTPUTF8 too. Pure: the
// time and the boundary come from the input.
#pragma once

#include <ctime>
#include <string>
#include <vector>

namespace postern::delivery {

struct FailedRecipient {
  std::string address;  // the envelope recipient, without angle brackets
  std::string status;   // RFC 3463 code: the reply's enhanced code ("5.1.1"), else "5.0.0",
                        // or "4.4.7" for an expired lifetime; anything else becomes "5.0.0"
  // The Diagnostic-Code: "smtp; 550 5.1.1 no such user" (RFC 3464 §2.3.6). Without a leading
  // "type;", a text starting with a reply code is typed smtp and any other X-Postern.
  std::string diagnostic;
  std::string remote_mta;  // the upstream's host name, or empty (a maildir, a local failure)
};

struct DsnInput {
  std::string reporting_host;           // our hostname: Reporting-MTA, From: and Message-ID
  std::string original_sender;          // the envelope sender to notify; never empty
  std::string original_queue_id;        // shown in the note and as X-Postern-Queue-ID
  // The original message's header section (delivery reads only that: queued_body.hpp's
  // read_header_section()); anything after its end, such as a body, is left out. Empty when it
  // cannot be read (sealed under a key that is gone): the DSN then has no third part.
  std::string original_header_section;
  std::time_t arrival_time = 0;         // Arrival-Date
  std::vector<FailedRecipient> failed;  // at least one
  std::time_t now = 0;                  // Date: and Last-Attempt-Date
  // Unique per DSN (the DSN's own queue id): makes the MIME boundary and the Message-ID unique,
  // and tests deterministic. Only its letters and digits are used.
  std::string boundary_seed;
};

// The complete message, header section and body. Throws std::invalid_argument when
// reporting_host, original_sender or failed is empty, or boundary_seed has no letter or digit.
std::string build_dsn(const DsnInput& input);

}  // namespace postern::delivery
