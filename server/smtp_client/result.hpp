// What one transaction with an upstream came to: one result per recipient, each with the reply
// that decided it (the upstream's own, or one made here for a local failure such as "451 4.4.1
// connect to mx.example:587 failed: Connection refused"), plus the whole-attempt error text and
// whether the message may go again at once on a fresh connection. Protocol::next() hands it over
// in TransactionDone; failed_attempt() builds one for a failure before any protocol ran.
#pragma once

#include "server/smtp/reply.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace smtp_client {

enum class Outcome {
  Delivered,  // 2xx: the upstream took responsibility for the message
  Temporary,  // 4xx or a local failure: try again later
  Permanent,  // 5xx: bounce
};

struct RecipientResult {
  Outcome outcome = Outcome::Temporary;
  smtp::Reply reply;  // its code decides the outcome; one_line() for DSNs and the queue

  // The result a reply means: 2xx delivered, 5xx permanent, anything else temporary.
  static RecipientResult of(smtp::Reply reply);
  friend bool operator==(const RecipientResult&, const RecipientResult&) = default;
};

struct TransactionResult {
  std::vector<RecipientResult> recipients;  // one per recipient of the envelope, same order
  // Whole-attempt failure text when no per-recipient SMTP reply applies: connect refused,
  // timeout, TLS verification failed, AUTH refused, MAIL FROM refused, message too big...
  // e.g. "TLS handshake with mx.example:587 failed: certificate verify failed (self-signed
  // certificate)". Empty when the transaction ran its course, whatever each recipient's result.
  std::string error;
  // A reused session turned out dead (closed, reset, 421; not a timeout) before the upstream
  // accepted anything of this message: it may go again on a fresh connection, no duplicate.
  bool stale = false;
  friend bool operator==(const TransactionResult&, const TransactionResult&) = default;
};

// The result of an attempt that failed as a whole before or outside the protocol: every
// recipient gets "451 <enhanced> <text>", and text is the error.
TransactionResult failed_attempt(std::size_t recipients, std::string_view enhanced, std::string text);

}  // namespace smtp_client
