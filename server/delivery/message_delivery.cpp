// See message_delivery.hpp.
#include "server/delivery/message_delivery.hpp"

#include "server/delivery/attempt_verdict.hpp"
#include "server/delivery/maildir.hpp"
#include "server/delivery/rewrite.hpp"
#include "server/delivery/routes.hpp"
#include "server/delivery/upstream_pool.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/metrics.hpp"

#include <ctime>
#include <random>

namespace postern::delivery {
namespace {

double jitter() {
  static thread_local std::mt19937 random{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(random);
}

// The same reply for every recipient: an attempt decided before any upstream answered.
Attempt every_recipient(std::size_t count, const smtp::Reply& reply, std::string error) {
  Attempt attempt;
  attempt.results.assign(count, smtp_client::RecipientResult::of(reply));
  attempt.error = std::move(error);
  return attempt;
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

boost::asio::awaitable<void> MessageDelivery::deliver(schema::ClaimedMessage message,
                                                     std::shared_ptr<const std::atomic<bool>> lease_lost) {
  const Upstream* upstream = select_upstream(config_, message.sender);
  const Attempt attempt = co_await attempt_delivery(message, upstream);
  AttemptVerdict verdict = judge_attempt(message, attempt, config_, jitter());
  const std::string_view upstream_name = upstream ? std::string_view(upstream->name) : "none";
  for (std::size_t i = 0; i < message.recipients.size(); ++i) {
    const char* outcome = to_string(verdict.verdicts[i]);
    log::info("delivery", {{"id", message.id}, {"recipient", message.recipients[i].address},
                           {"upstream", std::string(upstream_name)}, {"result", outcome},
                           {"attempt", std::to_string(message.attempts)},
                           {"reply", verdict.record.recipients[i].reply}});
    metrics::delivery().results.inc({upstream_name, outcome});
  }
  verdict.record.owner = owner_;
  verdict.record.bounce = bounce_for(message, verdict.failed, hostname_, std::time(nullptr), schema::new_queue_id());
  if (verdict.record.bounce) {
    log::info("bounce_queued", {{"id", verdict.record.bounce->id}, {"original", message.id},
                                {"to", message.sender}, {"failed", std::to_string(verdict.failed.size())}});
  }
  co_await record(verdict.record, *lease_lost);
}

boost::asio::awaitable<Attempt> MessageDelivery::attempt_delivery(const schema::ClaimedMessage& message,
                                                                  const Upstream* upstream) {
  const std::size_t count = message.recipients.size();
  if (upstream == nullptr) {
    co_return every_recipient(count, smtp::Reply::line(451, "4.3.5", "No upstream configured for delivery"),
                              "no upstream configured");
  }
  const std::string data = apply_rewrites(message.message, *upstream);
  if (upstream->kind == UpstreamKind::Maildir) {
    try {
      co_await pool_.run([&](BlockingContext&) {
        deliver_to_maildir(upstream->maildir, data);
        return true;
      });
      co_return every_recipient(count, smtp::Reply::line(250, "2.0.0", "delivered to maildir"), "");
    } catch (const std::exception& e) {
      co_return every_recipient(count, smtp::Reply::line(451, "4.3.0", std::string("maildir: ") + e.what()), e.what());
    }
  }
  OutboundMessage outbound;
  outbound.sender = message.sender;
  for (const auto& r : message.recipients) outbound.recipients.push_back(r.address);
  outbound.data = &data;
  outbound.eight_bit_mime = message.eight_bit_mime;
  outbound.smtputf8 = message.smtputf8;
  smtp_client::TransactionResult result = co_await upstreams_.at(upstream->name)->deliver(outbound);
  co_return Attempt{std::move(result.recipients), std::move(result.error), upstream->host};
}

boost::asio::awaitable<void> MessageDelivery::record(const schema::AttemptRecord& record, bool lease_lost) {
  // The message is another owner's now: recording over its work could undo a delivery.
  if (lease_lost) {
    log::warning("lease_lost", {{"id", record.message_id}});
    co_return;
  }
  try {
    bool owned = co_await pool_.run([&](BlockingContext& c) { return schema::record_attempt(c.store().connection(), record); });
    if (!owned) log::warning("lease_lost", {{"id", record.message_id}});
  } catch (const std::exception& e) {
    // The lease expires and the message is tried again: at-least-once.
    log::warning("record_attempt_failed", {{"id", record.message_id}, {"error", e.what()}});
  }
}

}  // namespace postern::delivery
