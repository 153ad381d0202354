// See attempt_verdict.hpp.
#include "server/delivery/attempt_verdict.hpp"

#include "server/delivery/backoff.hpp"

#include <algorithm>

namespace postern::delivery {
namespace {

using smtp_client::Outcome;

// RFC 3464 §2.3.4: the reply's own enhanced code when it has one of the right class, else the
// class default.
std::string status_of(const smtp::Reply& reply) {
  const char wanted = reply.code >= 500 ? '5' : '4';
  if (reply.enhanced.size() >= 5 && reply.enhanced[0] == wanted && reply.enhanced[1] == '.') return reply.enhanced;
  return reply.code >= 500 ? "5.0.0" : "4.0.0";
}

// The retry of the deferred recipients: the backoff, but never past the end of the lifetime,
// where the last try belongs.
int retry_after(const schema::ClaimedMessage& message, const DeliveryConfig& config, double jitter_unit) {
  const auto lifetime = static_cast<long long>(config.lifetime_seconds);
  auto retry = retry_delay(static_cast<unsigned>(message.attempts), config, jitter_unit);
  if (message.age_seconds < lifetime && message.age_seconds + retry.count() > lifetime) {
    retry = std::chrono::seconds{std::max<long long>(1, lifetime - message.age_seconds)};
  }
  return static_cast<int>(retry.count());
}

}  // namespace

const char* to_string(RecipientVerdict verdict) {
  switch (verdict) {
    case RecipientVerdict::Delivered: return "delivered";
    case RecipientVerdict::Deferred: return "deferred";
    case RecipientVerdict::Failed: return "failed";
    case RecipientVerdict::Expired: return "expired";
  }
  return "deferred";
}

AttemptVerdict judge_attempt(const schema::ClaimedMessage& message, const Attempt& attempt,
                             const DeliveryConfig& config, double jitter_unit) {
  const bool expires = message.age_seconds >= static_cast<long long>(config.lifetime_seconds);
  AttemptVerdict verdict;
  verdict.record.message_id = message.id;
  verdict.record.retry_after_seconds = retry_after(message, config, jitter_unit);
  for (std::size_t i = 0; i < message.recipients.size(); ++i) {
    const auto& recipient = message.recipients[i];
    const smtp_client::RecipientResult result = i < attempt.results.size()
        ? attempt.results[i]
        : smtp_client::RecipientResult::of(smtp::Reply::line(451, "4.3.0", "no reply for recipient"));
    const std::string reply = result.reply.one_line();
    schema::RecipientUpdate update{recipient.position, schema::RecipientOutcome::Deferred, reply, false};
    RecipientVerdict outcome = RecipientVerdict::Deferred;
    if (result.outcome == Outcome::Delivered) {
      update.outcome = schema::RecipientOutcome::Delivered;
      outcome = RecipientVerdict::Delivered;
    } else if (result.outcome == Outcome::Permanent || expires) {
      update.outcome = schema::RecipientOutcome::Failed;
      const bool permanent = result.outcome == Outcome::Permanent;
      outcome = permanent ? RecipientVerdict::Failed : RecipientVerdict::Expired;
      update.expired = !permanent;
      verdict.failed.push_back({recipient.address, permanent ? status_of(result.reply) : "4.4.7",
                                permanent ? "smtp; " + reply : "x-postern; delivery time expired; last reply: " + reply,
                                // Remote-MTA only when the upstream itself answered this recipient.
                                attempt.error.empty() ? attempt.remote_mta : ""});
    } else if (verdict.record.last_error.empty()) {
      verdict.record.last_error = attempt.error.empty() ? reply : attempt.error;
    }
    verdict.verdicts.push_back(outcome);
    verdict.record.recipients.push_back(std::move(update));
  }
  return verdict;
}

void judge_share(const schema::ClaimedMessage& message, const schema::PendingRecipient& recipient,
                 const schema::PendingShare& share, const Attempt& attempt, const DeliveryConfig& config,
                 double jitter_unit, AttemptVerdict& verdict) {
  schema::ClaimedMessage one;  // the share, as a message to its destination alone
  one.id = message.id;
  one.sender = message.sender;
  one.attempts = message.attempts;
  one.age_seconds = message.age_seconds;
  one.arrival_time = message.arrival_time;
  one.recipients.push_back({share.index, share.target.mailbox, std::nullopt});
  AttemptVerdict judged = judge_attempt(one, attempt, config, jitter_unit);
  const schema::RecipientUpdate& update = judged.record.recipients.front();
  verdict.record.shares.push_back({recipient.position, share.index, update.outcome, update.reply, update.expired});
  verdict.share_verdicts.push_back(judged.verdicts.front());
  if (!judged.failed.empty()) {
    FailedRecipient failed = judged.failed.front();
    const std::string_view diagnostic = failed.diagnostic;
    const std::size_t type_end = diagnostic.find("; ");
    const std::string count = recipient.shares ? std::to_string(recipient.shares->count) : "?";
    const bool copy = recipient.shares && recipient.shares->scheme == "copy";
    failed.diagnostic = "x-postern; " + std::string(copy ? "copy " : "share ") + std::to_string(share.index) + " of " +
                        count + (copy ? "" : " to " + share.target.mailbox) + " via " + share.target.upstream +
                        ": " +
                        std::string(type_end == std::string_view::npos ? diagnostic : diagnostic.substr(type_end + 2));
    failed.address = recipient.address;
    verdict.failed.push_back(std::move(failed));
  }
  if (verdict.record.last_error.empty()) verdict.record.last_error = judged.record.last_error;
}

bool bounces(const schema::ClaimedMessage& message, const std::vector<FailedRecipient>& failed) {
  return !failed.empty() && !message.sender.empty() && message.dsn;
}

std::optional<schema::QueuedMessage> bounce_for(const schema::ClaimedMessage& message,
                                                std::string original_header_section,
                                                const std::vector<FailedRecipient>& failed,
                                                const std::string& hostname, std::time_t now,
                                                std::string bounce_id) {
  if (!bounces(message, failed)) return std::nullopt;
  DsnInput dsn;
  dsn.reporting_host = hostname;
  dsn.original_sender = message.sender;
  dsn.original_queue_id = message.id;
  dsn.original_header_section = std::move(original_header_section);
  dsn.arrival_time = static_cast<std::time_t>(message.arrival_time);
  dsn.failed = failed;
  dsn.now = now;
  dsn.boundary_seed = bounce_id;
  schema::QueuedMessage bounce;
  bounce.id = std::move(bounce_id);
  bounce.sender = "";
  bounce.auth_user = "postern";
  bounce.client_address = "localhost";
  bounce.helo = hostname;
  bounce.recipients = {message.sender};
  bounce.message = build_dsn(dsn);
  // The returned original headers may hold 8-bit octets; then the DSN is 8-bit too.
  bounce.eight_bit_mime = std::any_of(bounce.message.begin(), bounce.message.end(),
                                      [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
  return bounce;
}

}  // namespace postern::delivery
