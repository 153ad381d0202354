// See message_delivery.hpp.
#include "server/delivery/message_delivery.hpp"

#include "dkim/canonical.hpp"
#include "server/delivery/attempt_verdict.hpp"
#include "server/delivery/journal_publish.hpp"
#include "server/delivery/maildir.hpp"
#include "server/delivery/queued_body.hpp"
#include "server/delivery/routes.hpp"
#include "server/delivery/signed_body.hpp"
#include "server/delivery/upstream_pool.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/memory_trim.hpp"
#include "server/runtime/metrics.hpp"
#include "server/sharing/share_body.hpp"
#include "server/sharing/share_map_cache.hpp"
#include "server/sharing/share_seed.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <algorithm>
#include <ctime>
#include <random>

namespace postern::delivery {
namespace {

double jitter() {
  static thread_local std::mt19937 random{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(random);
}

// The failed recipients wait for the next attempt instead of failing now: their DSN needs the
// original's header section, which could not be read (the delivered ones are recorded).
void defer_failed(AttemptVerdict& verdict, const std::string& why) {
  for (auto& recipient : verdict.record.recipients) {
    if (recipient.outcome == schema::RecipientOutcome::Failed) recipient.outcome = schema::RecipientOutcome::Deferred;
  }
  for (auto& share : verdict.record.shares) {
    if (share.outcome == schema::RecipientOutcome::Failed) share.outcome = schema::RecipientOutcome::Deferred;
  }
  if (verdict.record.last_error.empty()) verdict.record.last_error = "DSN deferred: " + why;
}

bool is_copy(const schema::PendingRecipient& recipient) {
  return recipient.shares && recipient.shares->scheme == "copy";
}

// Closing a journal may wait for its threads and a goodbye over the network (AMQP): on the
// blocking pool, never on an I/O thread.
boost::asio::awaitable<void> close_replaced(BlockingPool& pool, std::shared_ptr<JournalPublisher> journal) {
  try {
    co_await pool.run(
        [](BlockingContext&, const std::shared_ptr<JournalPublisher>& replaced) {
          replaced->close();
          return true;
        },
        journal);
  } catch (const std::exception& e) {
    log::warning("journal_close_failed", {{"error", e.what()}});
  }
}

// The same reply for every recipient: an attempt decided before any upstream answered.
Attempt every_recipient(std::size_t count, const smtp::Reply& reply, std::string error) {
  Attempt attempt;
  attempt.results.assign(count, smtp_client::RecipientResult::of(reply));
  attempt.error = std::move(error);
  return attempt;
}

// A journal's verdict as the reply every recipient of the attempt gets.
Attempt journal_attempt(std::size_t count, const JournalResult& result, const Upstream& upstream) {
  switch (result.kind) {
    case JournalResult::Kind::Delivered:
      return every_recipient(count, smtp::Reply::line(250, "2.0.0", "published to " + upstream.name), "");
    case JournalResult::Kind::Failed:
      return every_recipient(count, smtp::Reply::line(554, "5.3.4", result.detail), result.detail);
    case JournalResult::Kind::Deferred:
      break;
  }
  return every_recipient(count, smtp::Reply::line(451, "4.4.0", result.detail), result.detail);
}

// The recipients of one attempt at a message that go out together through one upstream: its
// plain recipients routed there, and the copies of fanned-out recipients destined there (a
// journal publishes them once, an SMTP upstream takes them in one transaction).
struct Leg {
  std::string upstream;  // its name ("" when delivery is disabled)
  std::vector<const schema::PendingRecipient*> plain;
  std::vector<std::pair<const schema::PendingRecipient*, const schema::PendingShare*>> copies;

  std::vector<std::string> addresses() const {
    std::vector<std::string> all;
    for (const auto* r : plain) all.push_back(r->address);
    for (const auto& [recipient, copy] : copies) all.push_back(copy->target.mailbox);
    return all;
  }
};

// The legs of an attempt, in the order their first recipient comes. A handler's route, recorded
// at intake, takes precedence over the routes for the plain recipients; shared recipients (their
// shares differ per destination) go separately.
std::vector<Leg> plan_legs(const schema::ClaimedMessage& message, const DeliveryConfig& config) {
  std::vector<Leg> legs;
  auto leg_for = [&](const std::string& upstream) -> Leg& {
    for (Leg& leg : legs) {
      if (leg.upstream == upstream) return leg;
    }
    return legs.emplace_back(Leg{upstream, {}, {}});
  };
  for (const auto& recipient : message.recipients) {
    if (is_copy(recipient)) {
      for (const auto& copy : recipient.shares->pending) {
        leg_for(copy.target.upstream).copies.emplace_back(&recipient, &copy);
      }
    } else if (!recipient.shares) {
      const Upstream* routed = select_upstream(config, message.sender, recipient.address);
      leg_for(!message.upstream.empty() ? message.upstream : routed ? routed->name : "").plain.push_back(&recipient);
    }
  }
  return legs;
}

// The message with only these (plain) recipients, for judge_attempt().
schema::ClaimedMessage part_for(const schema::ClaimedMessage& message,
                                const std::vector<const schema::PendingRecipient*>& recipients) {
  schema::ClaimedMessage part = message;
  part.recipients.clear();
  for (const auto* r : recipients) part.recipients.push_back({r->position, r->address, std::nullopt});
  return part;
}

// Adds one leg's judged plain recipients to the attempt's verdict.
void merge(AttemptVerdict& verdict, AttemptVerdict part) {
  for (auto& r : part.record.recipients) verdict.record.recipients.push_back(std::move(r));
  for (auto& f : part.failed) verdict.failed.push_back(std::move(f));
  if (verdict.record.last_error.empty()) verdict.record.last_error = std::move(part.record.last_error);
}

// One share mail of a message, as much as it takes to make it again.
struct ShareMail {
  unsigned index = 0;
  unsigned count = 0;
  shares::Seed group_seed;
  std::optional<shares::ShareMailFields> fields;  // the postern format; unset: privmail
};

// The share mail, from the start of the stored message. Arguments by value: a coroutine.
boost::asio::awaitable<std::unique_ptr<BodySource>> open_share_mail(ChunkReader chunks, std::uint64_t size,
                                                                    ShareMail mail) {
  if (!mail.fields) {
    // Made whole: intake let only messages of at most 1 MiB through for this format.
    std::unique_ptr<BodySource> privmail =
        co_await sharing::privmail_share_body(std::move(chunks), size, mail.index, mail.count, mail.group_seed);
    co_return privmail;
  }
  co_return std::make_unique<sharing::ShareBody>(std::move(chunks), size, *mail.fields, mail.group_seed);
}

bool anything_deferred(const schema::AttemptRecord& record) {
  auto deferred = [](const auto& update) { return update.outcome == schema::RecipientOutcome::Deferred; };
  return std::any_of(record.recipients.begin(), record.recipients.end(), deferred) ||
         std::any_of(record.shares.begin(), record.shares.end(), deferred);
}

}  // namespace

MessageDelivery::MessageDelivery(boost::asio::any_io_executor executor, BlockingPool& pool,
                                 const sharing::ShareMapCache& share_maps,
                                 DeliveryConfig config, std::string hostname, std::string owner)
    : pool_(pool),
      share_maps_(share_maps),
      executor_(std::move(executor)),
      hostname_(std::move(hostname)),
      owner_(std::move(owner)),
      current_(destinations_for(std::move(config), nullptr)),
      dkim_keys_(pool) {}

MessageDelivery::~MessageDelivery() = default;

MessageDelivery::Destinations MessageDelivery::destinations_for(DeliveryConfig config,
                                                                const Destinations* running) const {
  Destinations made;
  for (const auto& upstream : config.upstreams) {
    for (const char* outcome : {"delivered", "deferred", "failed", "expired"}) {
      metrics::delivery().results.declare({upstream.name, outcome});
    }
    const Upstream* before = running ? find_upstream(running->config, upstream.name) : nullptr;
    const bool same = before != nullptr && *before == upstream;
    if (upstream.kind == UpstreamKind::Smtp) {
      made.pools.emplace(upstream.name, same ? running->pools.at(upstream.name)
                                             : std::make_shared<UpstreamPool>(executor_, upstream, hostname_));
    }
    if (upstream.kind == UpstreamKind::Hpfeeds || upstream.kind == UpstreamKind::Amqp) {
      made.journals.emplace(upstream.name, same ? running->journals.at(upstream.name)
                                                : std::shared_ptr<JournalPublisher>(
                                                      make_journal_publisher(executor_, upstream)));
    }
  }
  made.config = std::move(config);
  return made;
}

void MessageDelivery::reconfigure(DeliveryConfig config) {
  const std::shared_ptr<const Destinations> running = current_.get();
  current_.replace(destinations_for(std::move(config), running.get()));
  const std::shared_ptr<const Destinations> now = current_.get();
  for (const auto& [name, pool] : running->pools) {
    auto kept = now->pools.find(name);
    if (kept == now->pools.end() || kept->second != pool) pool->close_idle();
  }
  for (const auto& [name, journal] : running->journals) {
    auto kept = now->journals.find(name);
    if (kept != now->journals.end() && kept->second == journal) continue;
    boost::asio::co_spawn(executor_, close_replaced(pool_, journal), boost::asio::detached);
    retired_journals_.push_back(journal);
  }
}

void MessageDelivery::close_idle() {
  const std::shared_ptr<const Destinations> now = current_.get();
  for (const auto& [name, upstream] : now->pools) upstream->close_idle();
  for (const auto& [name, journal] : now->journals) journal->close();
}

boost::asio::awaitable<void> MessageDelivery::deliver(schema::ClaimedMessage message,
                                                     std::shared_ptr<const std::atomic<bool>> lease_lost) {
  // This attempt's upstreams and routes, whatever a reload changes meanwhile.
  const std::shared_ptr<const Destinations> to = current_.get();
  const DeliveryConfig& config = to->config;
  const double jitter_unit = jitter();
  // The attempt's verdict starts empty (the message's id and retry time); each leg and share adds
  // its recipients.
  AttemptVerdict verdict = judge_attempt(part_for(message, {}), Attempt{}, config, jitter_unit);
  // The plain recipients and the copies go in one attempt per upstream; each share of a shared
  // recipient goes alone, to its destination through its own upstream.
  for (const Leg& leg : plan_legs(message, config)) {
    const Attempt attempt = co_await attempt_leg(*to, message, leg.upstream, leg.addresses());
    const std::string_view upstream_name = leg.upstream.empty() ? std::string_view("none") : leg.upstream;
    if (!leg.plain.empty()) {
      Attempt plain = attempt;
      plain.results.resize(leg.plain.size());
      AttemptVerdict judged = judge_attempt(part_for(message, leg.plain), plain, config, jitter_unit);
      for (std::size_t i = 0; i < leg.plain.size(); ++i) {
        const char* outcome = to_string(judged.verdicts[i]);
        log::info("delivery", {{"id", message.id}, {"recipient", leg.plain[i]->address},
                               {"upstream", std::string(upstream_name)}, {"result", outcome},
                               {"attempt", std::to_string(message.attempts)},
                               {"reply", judged.record.recipients[i].reply}});
        metrics::delivery().results.inc({upstream_name, outcome});
      }
      merge(verdict, std::move(judged));
    }
    for (std::size_t i = 0; i < leg.copies.size(); ++i) {
      const auto& [recipient, copy] = leg.copies[i];
      const std::size_t at = leg.plain.size() + i;
      Attempt one{{at < attempt.results.size() ? attempt.results[at]
                                               : smtp_client::RecipientResult::of(
                                                     smtp::Reply::line(451, "4.3.0", "no reply for recipient"))},
                  attempt.error, attempt.remote_mta};
      judge_share(message, *recipient, *copy, one, config, jitter_unit, verdict);
      const char* outcome = to_string(verdict.share_verdicts.back());
      log::info("delivery", {{"id", message.id}, {"recipient", recipient->address},
                             {"copy", std::to_string(copy->index) + "/" + std::to_string(recipient->shares->count)},
                             {"upstream", std::string(upstream_name)}, {"result", outcome},
                             {"attempt", std::to_string(message.attempts)},
                             {"reply", verdict.record.shares.back().reply}});
      metrics::delivery().results.inc({upstream_name, outcome});
    }
  }
  for (const auto& recipient : message.recipients) {
    if (!recipient.shares || is_copy(recipient)) continue;
    for (const auto& share : recipient.shares->pending) {
      const Attempt share_attempt = co_await attempt_share(*to, message, recipient, share);
      judge_share(message, recipient, share, share_attempt, config, jitter_unit, verdict);
      const char* outcome = to_string(verdict.share_verdicts.back());
      log::info("delivery", {{"id", message.id}, {"recipient", recipient.address},
                             {"share", std::to_string(share.index) + "/" + std::to_string(recipient.shares->count)},
                             {"destination", share.target.mailbox}, {"upstream", share.target.upstream},
                             {"result", outcome}, {"attempt", std::to_string(message.attempts)},
                             {"reply", verdict.record.shares.back().reply}});
      metrics::delivery().results.inc({share.target.upstream, outcome});
    }
  }
  if (!message.dsn) keep_failures(config, message, verdict);
  verdict.record.owner = owner_;
  verdict.record.webhooks = config.webhooks;
  if (bounces(message, verdict.failed)) {
    std::optional<std::string> header_section = co_await original_header_section(config, message);
    if (!header_section) {
      defer_failed(verdict, "the queued message cannot be read");
    } else {
      std::optional<schema::QueuedMessage> bounce = bounce_for(message, std::move(*header_section), verdict.failed,
                                                               hostname_, std::time(nullptr), schema::new_queue_id());
      if (!config.seal_keys.empty()) bounce->seal = config.seal_keys.sealing();
      bounce->webhooks = config.webhooks;
      if (config.dkim.enabled) bounce->dkim_body_hash = [hash = dkim::message_body_hash(bounce->message)] { return hash; };
      switch (share_if_mapped(*bounce)) {
        case BounceRoute::Send:
          log::info("bounce_queued", {{"id", bounce->id}, {"original", message.id}, {"to", message.sender},
                                      {"failed", std::to_string(verdict.failed.size())},
                                      {"shared", bounce->shared.empty() ? "no" : "yes"}});
          verdict.record.bounce = std::move(bounce);
          break;
        case BounceRoute::Defer:
          defer_failed(verdict, "the sender's share map is not usable now");
          break;
        case BounceRoute::Drop:
          log::warning("bounce_dropped", {{"original", message.id}, {"to", message.sender},
                                          {"reason", "the sender's share map is in the privmail format, "
                                                     "which cannot carry a DSN"}});
          break;
      }
    }
  }
  co_await record(verdict.record, *lease_lost);
  memory::after_message(message.size);
}

// No temporaries in an awaited expression (GCC 12 may destroy them twice): locals first.
boost::asio::awaitable<Attempt> MessageDelivery::attempt_leg(const Destinations& to,
                                                             const schema::ClaimedMessage& message,
                                                             const std::string& upstream_name,
                                                             std::vector<std::string> recipients) {
  const std::size_t count = recipients.size();
  if (upstream_name.empty()) {
    co_return every_recipient(count, smtp::Reply::line(451, "4.3.5", "No upstream configured for delivery"),
                              "no upstream configured");
  }
  const Upstream* upstream = find_upstream(to.config, upstream_name);
  if (upstream == nullptr) {
    // A handler or a fan-out route named it at intake; the configuration changed since. It may
    // come back.
    co_return every_recipient(count, smtp::Reply::line(451, "4.3.5", "upstream " + upstream_name +
                                                                         " is not configured on this relay"),
                              "no upstream " + upstream_name);
  }
  std::unique_ptr<QueuedBody> body;
  try {
    // No temporaries in an awaited expression (GCC 12 may destroy them twice): locals first.
    ChunkReader chunks = claimed_chunks(pool_, message, to.config.seal_keys);
    QueuedBody::HeaderSigner signer = co_await dkim_signer(to.config, message);
    std::unique_ptr<QueuedBody> opened =
        co_await QueuedBody::open(std::move(chunks), message.size, *upstream, schema::kChunkSize, std::move(signer));
    body = std::move(opened);
  } catch (const std::exception& e) {
    co_return every_recipient(count, smtp::Reply::line(451, "4.3.0", e.what()), e.what());
  }
  if (upstream->kind == UpstreamKind::Maildir) {
    Attempt attempt = co_await to_maildir(upstream->maildir, *body, count);
    co_return attempt;
  }
  if (upstream->kind == UpstreamKind::Hpfeeds || upstream->kind == UpstreamKind::Amqp) {
    Attempt attempt = co_await to_journal(to, *upstream, *body, count);
    co_return attempt;
  }
  OutboundMessage outbound;
  outbound.sender = message.sender;
  outbound.recipients = std::move(recipients);
  outbound.body = body.get();
  outbound.eight_bit_mime = message.eight_bit_mime;
  outbound.smtputf8 = message.smtputf8;
  smtp_client::TransactionResult result = co_await to.pools.at(upstream->name)->deliver(outbound);
  co_return Attempt{std::move(result.recipients), std::move(result.error), upstream->host};
}

boost::asio::awaitable<std::shared_ptr<const DkimKeys>> MessageDelivery::signing_keys(const DeliveryConfig& config) {
  if (!config.dkim.enabled) co_return nullptr;
  std::shared_ptr<const DkimKeys> keys = co_await dkim_keys_.current(config.seal_keys);
  if (keys->empty()) co_return nullptr;
  co_return keys;
}

boost::asio::awaitable<QueuedBody::HeaderSigner> MessageDelivery::dkim_signer(const DeliveryConfig& config,
                                                                               const schema::ClaimedMessage& message) {
  if (message.dkim_body_hash.empty()) co_return QueuedBody::HeaderSigner();
  std::shared_ptr<const DkimKeys> keys = co_await signing_keys(config);
  if (!keys) co_return QueuedBody::HeaderSigner();
  co_return [keys, hash = message.dkim_body_hash, headers = config.dkim.headers](std::string_view section) {
    return keys->signature_fields(section, hash, headers);
  };
}

// A DSN goes to the original sender; when that address is itself a mapped recipient, as shares
// like any mail to it, never in clear.
MessageDelivery::BounceRoute MessageDelivery::share_if_mapped(schema::QueuedMessage& bounce) const {
  auto found = share_maps_.lookup(bounce.recipients.front());
  if (found.kind == sharing::ShareMapCache::Lookup::Kind::Plain) return BounceRoute::Send;
  if (found.kind == sharing::ShareMapCache::Lookup::Kind::Refused) return BounceRoute::Defer;
  if (found.map->format == schema::ShareFormat::Privmail) return BounceRoute::Drop;
  bounce.shared.push_back(sharing::plan_shares(1, *found.map));
  bounce.share_seed = sharing::new_message_seed();
  return BounceRoute::Send;
}

// One share as its own mail: from the sender (or the envelope sender configured for that
// upstream) to the destination, through the share's upstream, drawn from the recipient's seed.
boost::asio::awaitable<Attempt> MessageDelivery::attempt_share(const Destinations& to,
                                                               const schema::ClaimedMessage& message,
                                                               const schema::PendingRecipient& recipient,
                                                               const schema::PendingShare& share) {
  const Upstream* upstream = find_upstream(to.config, share.target.upstream);
  if (upstream == nullptr) {
    // The map named it at intake; the configuration changed since. It may come back.
    co_return every_recipient(1, smtp::Reply::line(451, "4.3.5", "upstream " + share.target.upstream +
                                                                     " is not configured on this relay"),
                              "no upstream " + share.target.upstream);
  }
  std::unique_ptr<BodySource> body;
  try {
    if (!message.seal_error.empty()) throw std::runtime_error(message.seal_error);  // no seed to draw from
    ShareMail mail{static_cast<unsigned>(share.index), static_cast<unsigned>(recipient.shares->count),
                   sharing::recipient_seed(message.share_seed, recipient.address), std::nullopt};
    if (recipient.shares->format != "privmail") {
      const std::string sender = share.target.envelope_from.empty() ? message.sender : share.target.envelope_from;
      const std::string from = sender.empty() ? "MAILER-DAEMON@" + hostname_ : sender;
      mail.fields = sharing::share_mail_fields(mail.group_seed, mail.index, sharing::sharing_params(*recipient.shares),
                                               from, share.target.mailbox, message.arrival_time, hostname_);
    }
    OpenBody open = [this, &message, &to, mail] {
      ChunkReader chunks = claimed_chunks(pool_, message, to.config.seal_keys);
      return open_share_mail(std::move(chunks), message.size, mail);
    };
    // Signed like the message itself: only mail that intake took for signing (a body hash).
    std::shared_ptr<const DkimKeys> keys;
    if (!message.dkim_body_hash.empty()) {
      std::shared_ptr<const DkimKeys> loaded = co_await signing_keys(to.config);
      keys = std::move(loaded);
    }
    if (keys) {
      SignatureFields fields = [keys, headers = to.config.dkim.headers](std::string_view section,
                                                                         std::string_view body_hash) {
        return keys->signature_fields(section, body_hash, headers);
      };
      std::unique_ptr<BodySource> signed_mail = co_await signed_body(std::move(open), std::move(fields));
      body = std::move(signed_mail);
    } else {
      std::unique_ptr<BodySource> plain_mail = co_await open();
      body = std::move(plain_mail);
    }
  } catch (const std::exception& e) {
    co_return every_recipient(1, smtp::Reply::line(451, "4.3.0", e.what()), e.what());
  }
  if (upstream->kind == UpstreamKind::Maildir) {
    Attempt attempt = co_await to_maildir(upstream->maildir, *body, 1);
    co_return attempt;
  }
  OutboundMessage outbound;
  outbound.sender = share.target.envelope_from.empty() ? message.sender : share.target.envelope_from;
  outbound.recipients.push_back(share.target.mailbox);
  outbound.body = body.get();
  outbound.smtputf8 = message.smtputf8;  // the addresses may need it; the share mail is ASCII
  smtp_client::TransactionResult result = co_await to.pools.at(upstream->name)->deliver(outbound);
  co_return Attempt{std::move(result.recipients), std::move(result.error), upstream->host};
}

// The pieces stream into the file one by one, each written on the pool before the next is read.
boost::asio::awaitable<Attempt> MessageDelivery::to_maildir(const std::string& root, BodySource& body,
                                                            std::size_t count) {
  // Shared with the pool's work, which may outlive this attempt when its wait times out.
  auto file = std::make_shared<MaildirFile>(root);
  using File = std::shared_ptr<MaildirFile>;
  try {
    co_await pool_.run(
        [](BlockingContext&, const File& f) {
          f->open();
          return true;
        },
        file);
    while (!body.finished()) {
      std::string piece = co_await body.next_piece();
      co_await pool_.run(
          [](BlockingContext&, const File& f, const std::string& bytes) {
            f->write(bytes);
            return true;
          },
          file, std::move(piece));
    }
    co_await pool_.run(
        [](BlockingContext&, const File& f) {
          f->commit();
          return true;
        },
        file);
  } catch (const std::exception& e) {
    co_return every_recipient(count, smtp::Reply::line(451, "4.3.0", std::string("maildir: ") + e.what()), e.what());
  }
  co_return every_recipient(count, smtp::Reply::line(250, "2.0.0", "delivered to maildir"), "");
}

// The message whole (a journal frame carries it in one piece; it is at most the size limit),
// made into the journal's payload and published.
boost::asio::awaitable<Attempt> MessageDelivery::to_journal(const Destinations& to, const Upstream& upstream,
                                                            BodySource& body, std::size_t count) {
  std::shared_ptr<const std::string> payload;
  try {
    std::string whole;
    while (!body.finished()) {
      std::string piece = co_await body.next_piece();
      whole += piece;
    }
    const JournalFormat format =
        upstream.kind == UpstreamKind::Hpfeeds ? upstream.hpfeeds.format : upstream.amqp.format;
    payload = std::make_shared<const std::string>(journal_payload(whole, format));
  } catch (const std::exception& e) {
    co_return every_recipient(count, smtp::Reply::line(451, "4.3.0", e.what()), e.what());
  }
  JournalResult result = co_await to.journals.at(upstream.name)->publish(std::move(payload));
  co_return journal_attempt(count, result, upstream);
}

// Mail whose listener sends no DSNs (inbound): its failed recipients are logged and counted, and
// the message stays queued with them until its lifetime ends (or `mailadmin queue delete`); then
// a claim finds nothing pending and deletes it.
void MessageDelivery::keep_failures(const DeliveryConfig& config, const schema::ClaimedMessage& message,
                                    AttemptVerdict& verdict) const {
  for (const FailedRecipient& failed : verdict.failed) {
    log::warning("undeliverable", {{"id", message.id}, {"recipient", failed.address}, {"dsn", "none"},
                                   {"reason", failed.diagnostic}});
    metrics::delivery().undeliverable_without_dsn.inc();
  }
  const auto lifetime = static_cast<long long>(config.lifetime_seconds);
  if (message.age_seconds >= lifetime) {
    if (message.recipients.empty()) log::info("kept_message_expired", {{"id", message.id}});
    return;  // deleted once nothing is pending
  }
  verdict.record.keep_failed = true;
  if (!anything_deferred(verdict.record)) {
    verdict.record.retry_after_seconds = static_cast<int>(std::max<long long>(1, lifetime - message.age_seconds));
    if (!verdict.failed.empty()) verdict.record.last_error = "undeliverable, no DSN (kept until it expires)";
  }
}

// The original's header section for its DSN; nullopt (logged) when it cannot be read now.
boost::asio::awaitable<std::optional<std::string>> MessageDelivery::original_header_section(
    const DeliveryConfig& config, const schema::ClaimedMessage& message) {
  if (!message.seal_key.empty() && config.seal_keys.find(message.seal_key) == nullptr) {
    // Its key is gone: the DSN is made from the envelope alone, rather than never.
    log::warning("bounce_without_headers", {{"id", message.id}, {"seal_key", message.seal_key}});
    co_return std::string();
  }
  try {
    ChunkReader chunks = claimed_chunks(pool_, message, config.seal_keys);
    std::string header_section = co_await read_header_section(std::move(chunks), message.size);
    co_return header_section;
  } catch (const std::exception& e) {
    log::warning("bounce_deferred", {{"id", message.id}, {"error", e.what()}});  // see defer_failed()
  }
  co_return std::nullopt;
}

boost::asio::awaitable<void> MessageDelivery::record(const schema::AttemptRecord& record, bool lease_lost) {
  // The message is another owner's now: recording over its work could undo a delivery.
  if (lease_lost) {
    log::warning("lease_lost", {{"id", record.message_id}});
    co_return;
  }
  try {
    bool owned = co_await pool_.run(
        [](BlockingContext& c, const schema::AttemptRecord& r) { return schema::record_attempt(c.store().connection(), r); },
        record);
    if (!owned) log::warning("lease_lost", {{"id", record.message_id}});
  } catch (const std::exception& e) {
    // The lease expires and the message is tried again: at-least-once.
    log::warning("record_attempt_failed", {{"id", record.message_id}, {"error", e.what()}});
  }
}

}  // namespace postern::delivery
