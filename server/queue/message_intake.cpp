// See message_intake.hpp.
#include "server/queue/message_intake.hpp"

#include "postern/schema/queue_store.hpp"
#include "server/filters/header_senders.hpp"
#include "server/delivery/routes.hpp"
#include "server/filters/submission_headers.hpp"
#include "server/queue/dkim_body_hash.hpp"
#include "server/queue/handler_chain.hpp"
#include "server/queue/spooled_message.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/memory_trim.hpp"
#include "server/runtime/metrics.hpp"
#include "server/sharing/share_map_cache.hpp"
#include "server/sharing/share_seed.hpp"
#include "shares/privmail_message_shape.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>

namespace postern::queue {

const char* intake_name(Intake intake) {
  switch (intake) {
    case Intake::Submission: return "submission";
    case Intake::Inbound: return "inbound";
    case Intake::Lmtp: return "lmtp";
  }
  return "submission";
}

namespace {

// `recipients`: the envelope's as the handlers left them (the Received header names a lone one).
filters::SubmissionContext submission_context(const IntakeOptions& options, const smtp::Envelope& envelope,
                                              const std::vector<std::string>& recipients,
                                              const SessionFacts& facts, const std::string& queue_id) {
  filters::SubmissionContext context;
  context.hostname = options.hostname;
  context.client_helo = envelope.helo;
  context.client_ip = facts.client_address;
  context.auth_user = envelope.user;
  context.lmtp = facts.intake == Intake::Lmtp;
  context.queue_id = queue_id;
  context.tls = facts.tls;
  context.tls_version = facts.tls_version;
  context.tls_cipher = facts.tls_cipher;
  if (recipients.size() == 1) context.envelope_recipient_if_single = recipients.front();
  context.now = std::time(nullptr);
  // Inbound mail is kept as it came, with only our trace field (RFC 6409 §8 is for submission).
  const bool submitted = facts.intake == Intake::Submission;
  context.add_message_id = options.add_message_id && submitted;
  context.add_date = options.add_date && submitted;
  context.add_received = options.add_received;
  context.add_x_peer = options.add_x_peer;
  context.received_shows_user = options.received_shows_user;
  return context;
}

void log_rejected(const std::string& user, const std::string& sender, std::size_t recipients, std::uint64_t size,
                  const SessionFacts& facts, const std::string& reason) {
  log::info("message_rejected", {{"client", facts.client_address}, {"user", user}, {"sender", sender},
                                 {"recipients", std::to_string(recipients)}, {"size", std::to_string(size)},
                                 {"reason", reason}});
}

void log_rejected(const MessageUnderWay& message, const SessionFacts& facts, const std::string& reason) {
  log_rejected(message.user, message.sender, message.recipients.size(), message.size(), facts, reason);
}

// All a ChunkSource yields (a message already known to be small).
std::string read_whole(const schema::ChunkSource& source) {
  std::string all;
  char buffer[64 * 1024];
  for (std::size_t n; (n = source(buffer, sizeof buffer)) > 0;) all.append(buffer, n);
  return all;
}

// The message to queue: the envelope as the handlers left it, and as content the rewritten
// header section followed by the body (what was read along with the header, then the rest of
// the spool, streamed into chunks on the pool thread). `size` is the total.
schema::QueuedMessage to_queue(const IntakeOptions& options, const smtp::Envelope& envelope, MessageUnderWay message,
                               const SessionFacts& facts, std::uint64_t& size) {
  schema::QueuedMessage queued;
  queued.id = std::move(message.id);
  const std::uint64_t body_size = message.size() - message.head.header_section.size();
  std::string rewritten = filters::apply_submission_headers(
      std::move(message.head.header_section),
      submission_context(options, envelope, message.recipients, facts, queued.id));
  size = rewritten.size() + body_size;
  const std::size_t header_size = rewritten.size();
  queued.content = queued_content(std::move(rewritten) + message.head.body_start, std::move(message.spool));
  // Only mail from an authenticated user is signed (its From: was checked against the user's
  // grants): inbound and LMTP mail goes on as it came, never with our signature on a forged From:.
  if (options.delivery.dkim.enabled && facts.intake == Intake::Submission) {
    auto hasher = std::make_shared<dkim::BodyHasher>();
    queued.content = hashing_body(std::move(queued.content), header_size, hasher);
    queued.dkim_body_hash = body_hash_of(std::move(hasher));
  }
  queued.sender = std::move(message.sender);
  queued.auth_user = envelope.user;
  queued.client_address = facts.client_address;
  queued.helo = envelope.helo;
  queued.eight_bit_mime = envelope.body_type == smtp::BodyType::EightBitMime;
  queued.smtputf8 = envelope.smtputf8;
  queued.recipients = std::move(message.recipients);
  queued.upstream = std::move(message.upstream);
  queued.intake = intake_name(facts.intake);
  queued.dsn = facts.dsn;
  if (const auto& keys = options.delivery.seal_keys; !keys.empty()) queued.seal = keys.sealing();
  queued.webhooks = options.delivery.webhooks;
  return queued;
}

// A recipient whose route names several upstreams, as one copy of the message for each.
std::optional<schema::SharedRecipient> copies_for(const delivery::DeliveryConfig& config, const std::string& sender,
                                                  const std::string& recipient, int position) {
  const delivery::Route* route = delivery::matching_route(config, sender, recipient);
  if (route == nullptr || route->upstreams.size() < 2) return std::nullopt;
  schema::SharedRecipient copies{position, "copy", static_cast<int>(route->upstreams.size()), "", {}};
  for (const std::string& upstream : route->upstreams) copies.targets.push_back({recipient, upstream, ""});
  return copies;
}

// The user's grants, and the addresses handlers vouched for, for the header From policy.
schema::UserGrants with_vouched(const schema::UserGrants& grants, const std::vector<std::string>& vouched) {
  schema::UserGrants all = grants;
  all.addresses.insert(all.addresses.end(), vouched.begin(), vouched.end());
  return all;
}

}  // namespace

boost::asio::awaitable<smtp::Outcome> MessageIntake::accept(smtp::Envelope envelope, MessageSpool content,
                                                            const SessionFacts& facts,
                                                            const schema::UserGrants& grants) {
  const auto started = std::chrono::steady_clock::now();
  const std::shared_ptr<const Settings> settings = settings_.get();
  const IntakeOptions& options = settings->options;
  // Read on this I/O thread: at most kMaxHeaderSection, from a file just written (page cache).
  std::optional<HeaderSection> head;
  try {
    head = read_header_section(content, kMaxHeaderSection);
  } catch (const SpoolError& e) {
    log::warning("message_deferred", {{"client", facts.client_address}, {"user", envelope.user},
                                      {"sender", envelope.mail_from}, {"reason", e.what()}});
    metrics::smtp().messages_rejected.inc("temp_failure");
    co_return smtp::Outcome::temporary_failure();
  }
  if (!head) {
    log_rejected(envelope.user, envelope.mail_from, envelope.recipients.size(), content.size(), facts,
                 "header section over " + std::to_string(kMaxHeaderSection) + " octets");
    metrics::smtp().messages_rejected.inc("size");
    co_return smtp::Outcome::refused(smtp::Reply::line(552, "5.3.4", "Message header too large"));
  }
  // The envelope's sender and recipients move to the message: handlers may change them.
  MessageUnderWay message{schema::new_queue_id(),
                          std::move(envelope.mail_from),
                          std::move(envelope.recipients),
                          envelope.user,
                          facts.client_address,
                          std::move(*head),
                          std::make_shared<MessageSpool>(std::move(content)),
                          {},
                          {}};
  if (!handlers_.empty()) {
    ChainResult handled = co_await handlers_.run(message, grants);
    const std::string why = "handler " + handled.handler + ": " + handled.reason;
    switch (handled.kind) {
      case ChainResult::Kind::Continue:
        break;
      case ChainResult::Kind::Discard:
        // Decided before the 250, which the client gets as for any message: nothing is queued.
        log::info("message_discarded", {{"id", message.id}, {"client", facts.client_address},
                                        {"user", message.user}, {"sender", message.sender},
                                        {"recipients", std::to_string(message.recipients.size())},
                                        {"size", std::to_string(message.size())}, {"handler", handled.handler}});
        metrics::smtp().messages_discarded.inc(handled.handler);
        co_return smtp::Outcome::accepted(smtp::Reply::line(250, "2.0.0", "Ok: queued as " + message.id));
      case ChainResult::Kind::Refuse:
        log_rejected(message, facts, why);
        metrics::smtp().messages_rejected.inc("handler_reject");
        co_return smtp::Outcome::refused(std::move(handled.reply));
      case ChainResult::Kind::Defer:
        log_rejected(message, facts, why);
        metrics::smtp().messages_rejected.inc("handler_defer");
        co_return smtp::Outcome::temporary_failure(std::move(handled.reply));
    }
  }
  // After the handlers: one that changed From: is judged like the client. Inbound mail has no
  // user whose grants could vouch for its From:.
  if (options.check_header_from && facts.intake == Intake::Submission) {
    auto check = filters::check_header_senders(message.head.header_section,
                                               message.vouched_senders.empty()
                                                   ? grants
                                                   : with_vouched(grants, message.vouched_senders),
                                               settings->policy,
                                               options.refuse_address_like_display_names
                                                   ? filters::AddressLikeDisplayNames::Refuse
                                                   : filters::AddressLikeDisplayNames::Allow);
    if (!check.allowed) {
      log_rejected(message, facts, check.reason);
      metrics::smtp().messages_rejected.inc("header_from");
      co_return smtp::Outcome::refused(
          smtp::Reply::line(550, "5.7.1", "Sender address rejected: " + check.reason));
    }
  }

  std::uint64_t size = 0;
  // The share maps as they are now decide: a recipient mapped since RCPT goes as shares too.
  std::vector<schema::SharedRecipient> shared;
  for (std::size_t i = 0; i < message.recipients.size(); ++i) {
    auto found = share_maps_.lookup(message.recipients[i]);
    if (found.kind == sharing::ShareMapCache::Lookup::Kind::Refused) {
      log_rejected(message, facts, "recipient " + message.recipients[i] + ": share map not usable");
      metrics::smtp().messages_rejected.inc("temp_failure");
      co_return std::move(found.refusal);
    }
    const int position = static_cast<int>(i + 1);
    if (found.map) {
      shared.push_back(sharing::plan_shares(position, *found.map));
    } else if (message.upstream.empty()) {
      auto copies = copies_for(options.delivery, message.sender, message.recipients[i], position);
      if (copies) shared.push_back(std::move(*copies));
    }
  }
  auto queued = std::make_shared<schema::QueuedMessage>(to_queue(options, envelope, std::move(message), facts, size));
  if (!shared.empty()) {
    const bool privmail = std::any_of(shared.begin(), shared.end(), [](const schema::SharedRecipient& r) {
      return r.format == "privmail";
    });
    // PrivMail's format carries a Subject and one 7-bit text only: any other message is refused
    // now, before the 250, rather than lose part of it at delivery.
    if (privmail) {
      std::string problem = shares::privmail_size_problem(size);
      if (problem.empty()) {
        queued->message = read_whole(queued->content);  // at most 1 MiB
        queued->content = nullptr;
        problem = shares::check_privmail_shape(queued->message).problem;
      }
      if (!problem.empty()) {
        log_rejected(queued->auth_user, queued->sender, queued->recipients.size(), size, facts,
                     "privmail format: " + problem);
        metrics::smtp().messages_rejected.inc("privmail_shape");
        co_return smtp::Outcome::refused(smtp::Reply::line(554, "5.6.0", problem));
      }
    }
    queued->shared = std::move(shared);
    queued->share_seed = sharing::new_message_seed();
  }
  const auto recipients = std::to_string(queued->recipients.size());

  try {
    // The work shares the message: after a WaitTimeout it may still be stored (the client, told
    // 451, sends it again: a duplicate, never a loss).
    co_await pool_.run(
        [](BlockingContext& c, const std::shared_ptr<schema::QueuedMessage>& m) {
          schema::enqueue(c.store().connection(), *m);
          return true;
        },
        queued);
  } catch (const std::exception& e) {
    log::warning("message_deferred", {{"client", facts.client_address}, {"user", queued->auth_user},
                                      {"sender", queued->sender}, {"recipients", recipients},
                                      {"reason", e.what()}});
    metrics::smtp().messages_rejected.inc("temp_failure");
    co_return smtp::Outcome::temporary_failure();  // the protocol answers 451
  }
  log::info("message_accepted", {{"id", queued->id}, {"client", facts.client_address},
                                 {"user", queued->auth_user}, {"sender", queued->sender},
                                 {"recipients", recipients}, {"size", std::to_string(size)}});
  auto& m = metrics::smtp();
  m.messages_accepted.inc();
  m.recipients_accepted.inc(queued->recipients.size());
  m.bytes_accepted.inc(size);
  m.accept_seconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  memory::after_message(size);
  co_return smtp::Outcome::accepted(smtp::Reply::line(250, "2.0.0", "Ok: queued as " + queued->id));
}

}  // namespace postern::queue
