// See message_intake.hpp.
#include "server/queue/message_intake.hpp"

#include "postern/schema/queue_store.hpp"
#include "server/filters/header_senders.hpp"
#include "server/filters/submission_headers.hpp"
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
namespace {

filters::SubmissionContext submission_context(const IntakeOptions& options, const smtp::Envelope& envelope,
                                              const SessionFacts& facts, const std::string& queue_id) {
  filters::SubmissionContext context;
  context.hostname = options.hostname;
  context.client_helo = envelope.helo;
  context.client_ip = facts.client_address;
  context.auth_user = envelope.user;
  context.queue_id = queue_id;
  context.tls = facts.tls;
  context.tls_version = facts.tls_version;
  context.tls_cipher = facts.tls_cipher;
  if (envelope.recipients.size() == 1) context.envelope_recipient_if_single = envelope.recipients.front();
  context.now = std::time(nullptr);
  context.add_message_id = options.add_message_id;
  context.add_date = options.add_date;
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

void log_rejected(const smtp::Envelope& envelope, const SessionFacts& facts, const MessageSpool& content,
                  const std::string& reason) {
  log_rejected(envelope.user, envelope.mail_from, envelope.recipients.size(), content.size(), facts, reason);
}

// All a ChunkSource yields (a message already known to be small).
std::string read_whole(const schema::ChunkSource& source) {
  std::string all;
  char buffer[64 * 1024];
  for (std::size_t n; (n = source(buffer, sizeof buffer)) > 0;) all.append(buffer, n);
  return all;
}

// The message to queue: the envelope, and as content the rewritten header section followed by
// the body (what was read along with the header, then the rest of the spool, streamed into
// chunks on the pool thread). `size` is the total.
schema::QueuedMessage to_queue(const IntakeOptions& options, smtp::Envelope envelope, HeaderSection head,
                               MessageSpool content, const SessionFacts& facts, std::uint64_t& size) {
  schema::QueuedMessage message;
  message.id = schema::new_queue_id();
  const std::size_t client_header_size = head.header_section.size();
  std::string rewritten = filters::apply_submission_headers(std::move(head.header_section),
                                                            submission_context(options, envelope, facts, message.id));
  size = rewritten.size() + content.size() - client_header_size;
  message.content = queued_content(std::move(rewritten) + head.body_start,
                                   std::make_shared<MessageSpool>(std::move(content)));
  message.sender = std::move(envelope.mail_from);
  message.auth_user = std::move(envelope.user);
  message.client_address = facts.client_address;
  message.helo = std::move(envelope.helo);
  message.eight_bit_mime = envelope.body_type == smtp::BodyType::EightBitMime;
  message.smtputf8 = envelope.smtputf8;
  message.recipients = std::move(envelope.recipients);
  return message;
}

}  // namespace

boost::asio::awaitable<smtp::Outcome> MessageIntake::accept(smtp::Envelope envelope, MessageSpool content,
                                                            const SessionFacts& facts,
                                                            const schema::UserGrants& grants) {
  const auto started = std::chrono::steady_clock::now();
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
    log_rejected(envelope, facts, content, "header section over " + std::to_string(kMaxHeaderSection) + " octets");
    metrics::smtp().messages_rejected.inc("size");
    co_return smtp::Outcome::refused(smtp::Reply::line(552, "5.3.4", "Message header too large"));
  }
  if (options_.check_header_from) {
    auto check = filters::check_header_senders(head->header_section, grants, policy_,
                                               options_.refuse_address_like_display_names
                                                   ? filters::AddressLikeDisplayNames::Refuse
                                                   : filters::AddressLikeDisplayNames::Allow);
    if (!check.allowed) {
      log_rejected(envelope, facts, content, check.reason);
      metrics::smtp().messages_rejected.inc("header_from");
      co_return smtp::Outcome::refused(
          smtp::Reply::line(550, "5.7.1", "Sender address rejected: " + check.reason));
    }
  }

  std::uint64_t size = 0;
  // The share maps as they are now decide: a recipient mapped since RCPT goes as shares too.
  std::vector<schema::SharedRecipient> shared;
  for (std::size_t i = 0; i < envelope.recipients.size(); ++i) {
    auto found = share_maps_.lookup(envelope.recipients[i]);
    if (found.kind == sharing::ShareMapCache::Lookup::Kind::Refused) {
      log_rejected(envelope, facts, content, "recipient " + envelope.recipients[i] + ": share map not usable");
      metrics::smtp().messages_rejected.inc("temp_failure");
      co_return std::move(found.refusal);
    }
    if (found.map) shared.push_back(sharing::plan_shares(static_cast<int>(i + 1), *found.map));
  }
  auto message = std::make_shared<schema::QueuedMessage>(
      to_queue(options_, std::move(envelope), std::move(*head), std::move(content), facts, size));
  if (!shared.empty()) {
    const bool privmail = std::any_of(shared.begin(), shared.end(), [](const schema::SharedRecipient& r) {
      return r.format == "privmail";
    });
    // PrivMail's format carries a Subject and one 7-bit text only: any other message is refused
    // now, before the 250, rather than lose part of it at delivery.
    if (privmail) {
      std::string problem = shares::privmail_size_problem(size);
      if (problem.empty()) {
        message->message = read_whole(message->content);  // at most 1 MiB
        message->content = nullptr;
        problem = shares::check_privmail_shape(message->message).problem;
      }
      if (!problem.empty()) {
        log_rejected(message->auth_user, message->sender, message->recipients.size(), size, facts,
                     "privmail format: " + problem);
        metrics::smtp().messages_rejected.inc("privmail_shape");
        co_return smtp::Outcome::refused(smtp::Reply::line(554, "5.6.0", problem));
      }
    }
    message->shared = std::move(shared);
    message->share_seed = sharing::new_message_seed();
  }
  const auto recipients = std::to_string(message->recipients.size());

  try {
    // The work shares the message: after a WaitTimeout it may still be stored (the client, told
    // 451, sends it again: a duplicate, never a loss).
    co_await pool_.run(
        [](BlockingContext& c, const std::shared_ptr<schema::QueuedMessage>& queued) {
          schema::enqueue(c.store().connection(), *queued);
          return true;
        },
        message);
  } catch (const std::exception& e) {
    log::warning("message_deferred", {{"client", facts.client_address}, {"user", message->auth_user},
                                      {"sender", message->sender}, {"recipients", recipients},
                                      {"reason", e.what()}});
    metrics::smtp().messages_rejected.inc("temp_failure");
    co_return smtp::Outcome::temporary_failure();  // the protocol answers 451
  }
  log::info("message_accepted", {{"id", message->id}, {"client", facts.client_address},
                                 {"user", message->auth_user}, {"sender", message->sender},
                                 {"recipients", recipients}, {"size", std::to_string(size)}});
  auto& m = metrics::smtp();
  m.messages_accepted.inc();
  m.recipients_accepted.inc(message->recipients.size());
  m.bytes_accepted.inc(size);
  m.accept_seconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  memory::after_message(size);
  co_return smtp::Outcome::accepted(smtp::Reply::line(250, "2.0.0", "Ok: queued as " + message->id));
}

}  // namespace postern::queue
