// The header fields a submission server adds to a message it accepts: the RFC 5321 §4.4 trace
// field, and the Date and Message-ID of RFC 6409 §8.2–8.3.
//
// At the end of DATA, once the message passed check_header_senders(), call
// apply_submission_headers() to get the message as it is queued: a Received: trace field (and
// X-Peer: when configured) prepended, and Message-ID:/Date: added at the end of the header
// section when the client left them out. Call submission_headers() instead to get just the
// lines that would be added. Existing fields and the body are never changed. Pure: the time is
// taken from the context, no locale is consulted, no I/O; thread-safe.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace postern::filters {

struct SubmissionContext {
  std::string hostname;     // our name: Received "by" and the Message-ID right side
  std::string client_helo;  // the EHLO argument
  std::string client_ip;    // "203.0.113.5" or "2001:db8::1"; "local" for a unix socket
  std::string auth_user;    // the authenticated user, named in Received only when received_shows_user;
                            // empty for inbound mail (then "with ESMTP", no "A": RFC 3848)
  bool lmtp = false;        // it came over LMTP: "with LMTP" (RFC 3848 §2)
  std::string queue_id;     // the id the message is queued as; dot-atom text (Message-ID left)
  bool tls = false;         // ESMTPSA rather than ESMTPA (RFC 3848 §2)
  std::string tls_version;  // e.g. "TLSv1.3"; optional, shown in a Received comment
  std::string tls_cipher;   // e.g. "TLS_AES_256_GCM_SHA384"; optional, likewise
  std::string envelope_recipient_if_single;  // "x@y" for "for <x@y>"; empty if several
  std::time_t now = 0;                       // the time stamp and Date:, in UTC
  bool add_message_id = true, add_date = true, add_received = true, add_x_peer = false;
  // Off by default, as in Postfix: whoever gets one message would learn a login name to guess at.
  bool received_shows_user = false;
};

// The lines apply_submission_headers() would add, each ending in CRLF, in this order: Received,
// X-Peer, Message-ID, Date (each only when enabled, the last two only when missing). The
// Received field, folded to stay under 78 characters where its parts allow (RFC 5322 §2.1.1);
// each continuation line starts with one HTAB, shown here as indentation:
//
//   Received: from client.example ([203.0.113.5])
//       by relay.example (Postern) with ESMTPSA id 4ABC12
//       (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)
//       (authenticated user alice)
//       for <bob@example.org>; Sun, 22 Nov 2026 04:20:00 +0000
//
// (the "authenticated user" comment only with received_shows_user).
// IPv6 clients appear as [IPv6:2001:db8::1]. Message-ID is <queue_id@hostname>.
std::string submission_headers(std::string_view message, const SubmissionContext& ctx);

// The complete message to queue: the Received/X-Peer lines, then the client's header section
// with any missing Message-ID/Date appended at its end (before the empty line), then the empty
// line and the body byte for byte. A message with no empty line is all header section; if its
// last line lacks a CRLF, one is added before the appended fields.
std::string apply_submission_headers(std::string message, const SubmissionContext& ctx);

// RFC 5322 §3.3 date-time in UTC, English names from tables: "Sun, 22 Nov 2026 04:20:00 +0000".
std::string rfc5322_date(std::time_t time);

}  // namespace postern::filters
