// See message_delivery.hpp.
#include "server/delivery/message_delivery.hpp"

#include "server/delivery/backoff.hpp"
#include "server/delivery/dsn.hpp"
#include "server/delivery/maildir.hpp"
#include "server/delivery/rewrite.hpp"
#include "server/delivery/routes.hpp"
#include "server/delivery/upstream_client.hpp"
#include "server/delivery/upstream_pool.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/metrics.hpp"

#include <algorithm>
#include <ctime>
#include <random>

namespace postern::delivery {
namespace {

// "550 5.1.1 no such user" → "5.1.1"; a reply without an enhanced code gets the class default.
std::string status_of(int code, const std::string& reply) {
  auto space = reply.find(' ');
  if (space != std::string::npos) {
    auto rest = reply.substr(space + 1);
    auto end = rest.find(' ');
    auto candidate = rest.substr(0, end);
    if (candidate.size() >= 5 && (candidate[0] == '4' || candidate[0] == '5') && candidate[1] == '.') {
      return candidate;
    }
  }
  return code >= 500 ? "5.0.0" : "4.0.0";
}

double jitter() {
  static thread_local std::mt19937 random{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(random);
}

}  // namespace

MessageDelivery::MessageDelivery(boost::asio::any_io_executor executor, BlockingPool& pool,
                                 DeliveryConfig config, std::string hostname, std::string owner)
    : pool_(pool), config_(std::move(config)), hostname_(std::move(hostname)), owner_(std::move(owner)) {
  for (const auto& upstream : config_.upstreams) {
    for (const char* outcome : {"delivered", "deferred", "failed", "expired"}) {
      metrics::delivery().results.declare({upstream.name, outcome});
    }
    if (upstream.kind == UpstreamKind::Smtp) {
      upstreams_.emplace(upstream.name, std::make_unique<UpstreamPool>(executor, upstream, hostname_));
    }
  }
}

MessageDelivery::~MessageDelivery() = default;

void MessageDelivery::close_idle() {
  for (auto& [name, upstream] : upstreams_) upstream->close_idle();
}

boost::asio::awaitable<void> MessageDelivery::deliver(schema::ClaimedMessage message) {
  const Upstream* upstream = select_upstream(config_, message.sender);
  std::vector<RecipientResult> results(message.recipients.size());
  std::string attempt_error;

  if (upstream == nullptr) {
    attempt_error = "no upstream configured";
    for (auto& r : results) r = {451, "451 4.3.5 No upstream configured for delivery"};
  } else {
    const std::string data = apply_rewrites(message.message, *upstream);
    if (upstream->kind == UpstreamKind::Maildir) {
      try {
        co_await pool_.run([&](BlockingContext&) {
          deliver_to_maildir(upstream->maildir, data);
          return true;
        });
        for (auto& r : results) r = {250, "250 2.0.0 delivered to maildir"};
      } catch (const std::exception& e) {
        attempt_error = e.what();
        for (auto& r : results) r = {451, std::string("451 4.3.0 maildir: ") + e.what()};
      }
    } else {
      OutboundMessage outbound;
      outbound.sender = message.sender;
      for (const auto& r : message.recipients) outbound.recipients.push_back(r.address);
      outbound.data = &data;
      outbound.eight_bit_mime = message.eight_bit_mime;
      outbound.smtputf8 = message.smtputf8;
      DeliveryReport report = co_await upstreams_.at(upstream->name)->deliver(outbound);
      attempt_error = report.error;
      results = std::move(report.recipients);
      results.resize(message.recipients.size(), RecipientResult{451, "451 4.3.0 no reply for recipient"});
    }
  }

  // A deferred recipient fails once the lifetime is over; the last retry is moved up to the end
  // of the lifetime rather than bouncing early.
  const auto lifetime = static_cast<long long>(config_.lifetime_seconds);
  const bool expires = message.age_seconds >= lifetime;
  auto retry = retry_delay(static_cast<unsigned>(message.attempts), config_, jitter());
  if (!expires && message.age_seconds + retry.count() > lifetime) {
    retry = std::chrono::seconds{std::max<long long>(1, lifetime - message.age_seconds)};
  }
  schema::AttemptRecord record;
  record.message_id = message.id;
  record.owner = owner_;
  record.retry_after_seconds = static_cast<int>(retry.count());
  std::vector<FailedRecipient> failed;
  for (std::size_t i = 0; i < message.recipients.size(); ++i) {
    const auto& recipient = message.recipients[i];
    const auto& result = results[i];
    schema::RecipientUpdate update{recipient.position, schema::RecipientOutcome::Deferred, result.reply};
    const char* outcome = "deferred";
    if (result.code >= 200 && result.code < 300) {
      update.outcome = schema::RecipientOutcome::Delivered;
      outcome = "delivered";
    } else if (result.code >= 500 || expires) {
      update.outcome = schema::RecipientOutcome::Failed;
      outcome = result.code >= 500 ? "failed" : "expired";
      failed.push_back({recipient.address,
                        result.code >= 500 ? status_of(result.code, result.reply) : "4.4.7",
                        result.code >= 500 ? "smtp; " + result.reply
                                           : "x-postern; delivery time expired; last reply: " + result.reply,
                        // Remote-MTA only when the upstream itself answered this recipient.
                        upstream && upstream->kind == UpstreamKind::Smtp && attempt_error.empty()
                            ? upstream->host : ""});
    } else if (record.last_error.empty()) {
      record.last_error = attempt_error.empty() ? result.reply : attempt_error;
    }
    log::info("delivery", {{"id", message.id}, {"recipient", recipient.address},
                           {"upstream", upstream ? upstream->name : "none"}, {"result", outcome},
                           {"attempt", std::to_string(message.attempts)}, {"reply", result.reply}});
    metrics::delivery().results.inc({upstream ? std::string_view(upstream->name) : "none", outcome});
    record.recipients.push_back(std::move(update));
  }

  // Null-sender mail (a DSN itself) never bounces: no loops.
  if (!failed.empty() && !message.sender.empty()) {
    DsnInput dsn;
    dsn.reporting_host = hostname_;
    dsn.original_sender = message.sender;
    dsn.original_queue_id = message.id;
    dsn.original_message = message.message;
    dsn.arrival_time = static_cast<std::time_t>(message.arrival_time);
    dsn.failed = failed;
    dsn.now = std::time(nullptr);
    schema::QueuedMessage bounce;
    bounce.id = schema::new_queue_id();
    dsn.boundary_seed = bounce.id;
    bounce.sender = "";
    bounce.auth_user = "postern";
    bounce.client_address = "localhost";
    bounce.helo = hostname_;
    bounce.recipients = {message.sender};
    bounce.message = build_dsn(dsn);
    // The returned original headers may hold 8-bit octets; then the DSN is 8-bit too.
    bounce.eight_bit_mime = std::any_of(bounce.message.begin(), bounce.message.end(),
                                        [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    record.bounce = std::move(bounce);
    log::info("bounce_queued", {{"id", record.bounce->id}, {"original", message.id},
                                {"to", message.sender}, {"failed", std::to_string(failed.size())}});
  }

  try {
    bool owned = co_await pool_.run([&](BlockingContext& c) { return schema::record_attempt(c.store().connection(), record); });
    if (!owned) log::warning("lease_lost", {{"id", message.id}});
  } catch (const std::exception& e) {
    // The lease expires and the message is tried again: at-least-once.
    log::warning("record_attempt_failed", {{"id", message.id}, {"error", e.what()}});
  }
}

}  // namespace postern::delivery
