// See message_intake.hpp.
#include "server/queue/message_intake.hpp"

#include "postern/schema/queue_store.hpp"
#include "server/filters/header_senders.hpp"
#include "server/filters/submission_headers.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/metrics.hpp"

#include <chrono>
#include <ctime>

namespace postern::queue {

boost::asio::awaitable<smtp::Reply> MessageIntake::accept(smtp::Envelope envelope,
                                                          const SessionFacts& facts,
                                                          const schema::UserGrants& grants) {
  const auto started = std::chrono::steady_clock::now();
  const auto recipients = std::to_string(envelope.recipients.size());
  if (options_.check_header_from) {
    auto check = filters::check_header_senders(envelope.body, grants, policy_);
    if (!check.allowed) {
      log::info("message_rejected", {{"client", facts.client_address}, {"user", envelope.user},
                                     {"sender", envelope.mail_from}, {"recipients", recipients},
                                     {"size", std::to_string(envelope.body.size())},
                                     {"reason", check.reason}});
      metrics::smtp().messages_rejected.inc("header_from");
      co_return smtp::Reply::line(550, "5.7.1", "Sender address rejected: " + check.reason);
    }
  }

  schema::QueuedMessage message;
  message.id = schema::new_queue_id();
  filters::SubmissionContext context;
  context.hostname = options_.hostname;
  context.client_helo = envelope.helo;
  context.client_ip = facts.client_address;
  context.auth_user = envelope.user;
  context.queue_id = message.id;
  context.tls = facts.tls;
  context.tls_version = facts.tls_version;
  context.tls_cipher = facts.tls_cipher;
  if (envelope.recipients.size() == 1) context.envelope_recipient_if_single = envelope.recipients.front();
  context.now = std::time(nullptr);
  context.add_message_id = options_.add_message_id;
  context.add_date = options_.add_date;
  context.add_received = options_.add_received;
  context.add_x_peer = options_.add_x_peer;

  message.message = filters::apply_submission_headers(std::move(envelope.body), context);
  message.sender = std::move(envelope.mail_from);
  message.auth_user = envelope.user;
  message.client_address = facts.client_address;
  message.helo = std::move(envelope.helo);
  message.eight_bit_mime = envelope.body_type == smtp::BodyType::EightBitMime;
  message.smtputf8 = envelope.smtputf8;
  message.recipients = std::move(envelope.recipients);

  try {
    co_await pool_.run([&](BlockingContext& c) {
      schema::enqueue(c.store().connection(), message);
      return true;
    });
  } catch (const std::exception& e) {
    log::warning("message_deferred", {{"client", facts.client_address}, {"user", message.auth_user},
                                      {"sender", message.sender}, {"recipients", recipients},
                                      {"reason", e.what()}});
    metrics::smtp().messages_rejected.inc("temp_failure");
    co_return smtp::Reply::line(451, "4.3.0", "Temporary failure, try again later");
  }
  log::info("message_accepted", {{"id", message.id}, {"client", facts.client_address},
                                 {"user", message.auth_user}, {"sender", message.sender},
                                 {"recipients", recipients},
                                 {"size", std::to_string(message.message.size())}});
  auto& m = metrics::smtp();
  m.messages_accepted.inc();
  m.recipients_accepted.inc(message.recipients.size());
  m.bytes_accepted.inc(message.message.size());
  m.accept_seconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  co_return smtp::Reply::line(250, "2.0.0", "Ok: queued as " + message.id);
}

}  // namespace postern::queue
