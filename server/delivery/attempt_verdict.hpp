// The delivery decision: what one attempt at a claimed message means. Each recipient is
// delivered (2xx), failed (5xx now, or still 4xx once the message's lifetime is over) or
// deferred until the next retry (backoff.hpp, moved up to the end of the lifetime rather than
// bouncing early); the failed ones are what the sender's DSN (dsn.hpp) reports, built from the
// structured replies. Pure: the message's age and the jitter come in, the record to store and
// the bounce to queue come out.
//
//   AttemptVerdict verdict = judge_attempt(message, attempt, config, jitter);
//   record.bounce = bounce_for(message, header_section, verdict.failed, hostname, std::time(nullptr),
//                              new_queue_id());
#pragma once

#include "postern/schema/queue_store.hpp"
#include "server/delivery/dsn.hpp"
#include "server/delivery/upstream.hpp"
#include "server/smtp_client/result.hpp"

#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace postern::delivery {

// What the upstream (or the maildir, or the lack of any route) said to one attempt.
struct Attempt {
  std::vector<smtp_client::RecipientResult> results;  // one per claimed recipient, same order
  std::string error;       // a failure of the whole attempt (connect refused, ...), or empty
  std::string remote_mta;  // the SMTP upstream's host when it answered the recipients itself
};

enum class RecipientVerdict { Delivered, Deferred, Failed, Expired };
const char* to_string(RecipientVerdict verdict);  // "delivered", "deferred", "failed", "expired"

struct AttemptVerdict {
  schema::AttemptRecord record;                // recipients, retry time and last error; no bounce
  std::vector<RecipientVerdict> verdicts;      // per recipient, for the log and the metrics
  std::vector<RecipientVerdict> share_verdicts;  // per record.shares entry, likewise
  std::vector<FailedRecipient> failed;         // failed and expired recipients, for the DSN
};

// message.attempts counts this attempt; message.age_seconds is the time since it was queued.
// jitter_unit in [0, 1) spreads the retry (retry_delay()). record.message_id is the message's
// id; record.owner is left for the caller.
AttemptVerdict judge_attempt(const schema::ClaimedMessage& message, const Attempt& attempt,
                             const DeliveryConfig& config, double jitter_unit);

// One share of a shared recipient, or one copy of a fanned-out recipient (its attempt went to the
// destination through its upstream), judged as the recipient it was sent to and added to
// `verdict`: its result to record.shares; its failure to the DSN's list under the recipient's
// address, saying which share (and destination) or copy and which upstream failed (never
// anything of a share itself).
void judge_share(const schema::ClaimedMessage& message, const schema::PendingRecipient& recipient,
                 const schema::PendingShare& share, const Attempt& attempt, const DeliveryConfig& config,
                 double jitter_unit, AttemptVerdict& verdict);

// Whether failed recipients make a DSN: not for a message with the null sender (a DSN never
// bounces, RFC 5321 §4.5.5), nor for one whose listener sends none (inbound mail: its sender is
// likely forged, and a DSN would be backscatter).
bool bounces(const schema::ClaimedMessage& message, const std::vector<FailedRecipient>& failed);

// The DSN to queue for the failed recipients, from the null sender to the original sender, with
// the original's header section (the body never goes back); nothing unless bounces().
std::optional<schema::QueuedMessage> bounce_for(const schema::ClaimedMessage& message,
                                                std::string original_header_section,
                                                const std::vector<FailedRecipient>& failed,
                                                const std::string& hostname, std::time_t now,
                                                std::string bounce_id);

}  // namespace postern::delivery
