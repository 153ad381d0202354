// End of DATA: the handlers (handler_chain.hpp), the message filters (header From/Sender
// policy, submission headers of RFC 6409 §8; for inbound mail only the Received trace field) and
// then the queue. The session spools the
// message's content (message_spool.hpp, a spool from new_spool()) and hands it over with the
// envelope; accept() answers AcceptMessage: Accepted with "250 2.0.0 Ok: queued as <id>" only
// after the PostgreSQL transaction that stores the message has committed (or when a handler
// discarded it: then nothing is stored); Refused with a handler's or the filter's 5xx (or "552
// 5.3.4 Message header too large" past kMaxHeaderSection, spooled_message.hpp); TemporaryFailure
// when a handler defers it, it could not be stored, or a recipient's share map is not usable any
// more (then 451 4.3.5 with the reason). Recipients with a usable share map
// (sharing/share_map_cache.hpp, asked again here) are queued with a copy of their map and the
// message's share seed: they are delivered as shares. Recipients whose route names several
// upstreams (and for which no handler chose one) are queued with one copy per upstream, each
// tracked on its own.
//
//   MessageSpool spool = intake.new_spool();   // spool.append(piece) for each MessageData
//   smtp::Outcome outcome = co_await intake.accept(std::move(envelope), std::move(spool), facts, grants);
//   protocol.message_handled(std::move(outcome));
//
// Memory per message is bounded whatever its size: the filters read only the header section,
// and the body streams from the spool into the queue's chunks.
#pragma once

#include "postern/schema/sender_rule.hpp"
#include "server/delivery/upstream.hpp"
#include "server/queue/intake.hpp"
#include "server/queue/message_spool.hpp"
#include "server/runtime/snapshot.hpp"
#include "server/smtp/reply.hpp"
#include "server/smtp/step.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace postern {
class BlockingPool;
}
namespace postern::sharing {
class ShareMapCache;
}

namespace postern::queue {

class HandlerChain;

struct IntakeOptions {
  std::string hostname;
  bool check_header_from = true;
  bool add_message_id = true;
  bool add_date = true;
  bool add_received = true;
  bool add_x_peer = false;
  bool received_shows_user = false;  // submission.received_shows_user
  bool refuse_address_like_display_names = true;  // policy.address_like_display_names
  SpoolSettings spool{default_spool_directory()};  // queue.spool_directory
  // The routes: a recipient whose route names several upstreams is queued as one copy for each.
  postern::delivery::DeliveryConfig delivery;
};


// What the session knows about its client, for the trace header and the log.
struct SessionFacts {
  std::string client_address;
  bool tls = false;
  std::string tls_version;
  std::string tls_cipher;
  Intake intake = Intake::Submission;
  bool dsn = true;  // the listener's `dsn`: failed recipients make a DSN to the sender
};

class MessageIntake {
 public:
  // `share_maps` is only used once sessions run (the daemon builds it after this).
  MessageIntake(BlockingPool& pool, const sharing::ShareMapCache& share_maps, HandlerChain& handlers,
                IntakeOptions options, schema::SenderPolicy policy)
      : pool_(pool),
        share_maps_(share_maps),
        handlers_(handlers),
        settings_(Settings{std::move(options), std::move(policy)}) {}

  // A reload: messages whose end of DATA comes from now on are filtered and queued with these.
  void reconfigure(IntakeOptions options, schema::SenderPolicy policy) {
    settings_.replace(Settings{std::move(options), std::move(policy)});
  }

  // An empty spool for the next message's content.
  MessageSpool new_spool() const { return MessageSpool{settings_.get()->options.spool}; }

  boost::asio::awaitable<smtp::Outcome> accept(smtp::Envelope envelope, MessageSpool content,
                                               const SessionFacts& facts, const schema::UserGrants& grants);

 private:
  BlockingPool& pool_;
  const sharing::ShareMapCache& share_maps_;
  HandlerChain& handlers_;
  struct Settings {
    IntakeOptions options;
    schema::SenderPolicy policy;
  };
  Snapshot<Settings> settings_;  // taken once per message
};

}  // namespace postern::queue
