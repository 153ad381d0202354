// One delivery attempt of one claimed message: pick the upstream by route, stream the message to
// it (an SMTP upstream through its pool, or a maildir) from the queue's chunks with the
// upstream's header rewrites (queued_body.hpp), let the delivery decision (attempt_verdict.hpp)
// sort each recipient into delivered, deferred or failed and build the DSN for the failed ones
// from the original's header section, then record it all in one transaction. No step holds the
// whole message, unless it is small enough to have come with its claim (at most
// schema::kClaimedBodyLimit). The claim/lease loop that calls this is delivery_scheduler.hpp.
//
//   co_await delivery.deliver(std::move(claimed), lease_lost);
#pragma once

#include "postern/schema/queue_store.hpp"
#include "server/delivery/dkim_key_cache.hpp"
#include "server/delivery/queued_body.hpp"
#include "server/delivery/upstream.hpp"
#include "server/runtime/snapshot.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace postern {
class BlockingPool;
}
namespace postern::sharing {
class ShareMapCache;
}

namespace postern::delivery {

class BodySource;
class JournalPublisher;
class UpstreamPool;
struct Attempt;
struct AttemptVerdict;

class MessageDelivery {
 public:
  // `share_maps`: a DSN to a sender who is itself a mapped recipient goes as shares.
  MessageDelivery(boost::asio::any_io_executor executor, BlockingPool& pool, const sharing::ShareMapCache& share_maps,
                  DeliveryConfig config, std::string hostname, std::string owner);
  ~MessageDelivery();

  // `lease_lost` is raised by the lease's renewal when another owner took the message over:
  // then the attempt is not recorded.
  boost::asio::awaitable<void> deliver(schema::ClaimedMessage message,
                                       std::shared_ptr<const std::atomic<bool>> lease_lost);

  // Shutdown: says goodbye to idle upstream connections.
  void close_idle();

  // A reload: attempts that start from now on use these upstreams and routes; those in flight
  // finish on theirs. An upstream whose settings changed gets a new pool: the old one's idle
  // connections are closed, and its busy ones once their message is through. Call it from one
  // thread at a time (the reload).
  void reconfigure(DeliveryConfig config);

  // NOTIFY postern_dkim_keys: the next attempt reads the DKIM keys again. Any thread.
  void dkim_keys_changed() { dkim_keys_.invalidate(); }

  const std::string& owner() const { return owner_; }
  // The seal keys of the settings now (a claim opens what it brings with them).
  schema::SealKeys seal_keys() const { return current_.get()->config.seal_keys; }

 private:
  // Hands the message to the named upstream for `recipients`; every failure is in the returned
  // attempt, one result per recipient.
  // The upstreams as one reload configured them: an attempt takes them when it starts.
  struct Destinations {
    DeliveryConfig config;
    std::map<std::string, std::shared_ptr<UpstreamPool>> pools;        // kind smtp
    std::map<std::string, std::shared_ptr<JournalPublisher>> journals;  // kinds hpfeeds, amqp
  };

  // `running`: pools and journals to keep where their upstream did not change.
  Destinations destinations_for(DeliveryConfig config, const Destinations* running) const;
  boost::asio::awaitable<Attempt> attempt_leg(const Destinations& to, const schema::ClaimedMessage& message,
                                              const std::string& upstream_name, std::vector<std::string> recipients);
  boost::asio::awaitable<Attempt> attempt_share(const Destinations& to, const schema::ClaimedMessage& message,
                                                const schema::PendingRecipient& recipient,
                                                const schema::PendingShare& share);
  boost::asio::awaitable<Attempt> to_maildir(const std::string& root, BodySource& body, std::size_t count);
  boost::asio::awaitable<Attempt> to_journal(const Destinations& to, const Upstream& upstream, BodySource& body,
                                             std::size_t count);
  void keep_failures(const DeliveryConfig& config, const schema::ClaimedMessage& message,
                     AttemptVerdict& verdict) const;
  boost::asio::awaitable<std::optional<std::string>> original_header_section(const DeliveryConfig& config,
                                                                             const schema::ClaimedMessage& message);
  boost::asio::awaitable<void> record(const schema::AttemptRecord& record, bool lease_lost);
  // The DKIM keys for this attempt; null when signing is off or no domain has a key.
  boost::asio::awaitable<std::shared_ptr<const DkimKeys>> signing_keys(const DeliveryConfig& config);
  // What signs the message at this attempt: unset when it has no body hash, signing is off, or
  // no domain has a key.
  boost::asio::awaitable<QueuedBody::HeaderSigner> dkim_signer(const DeliveryConfig& config,
                                                               const schema::ClaimedMessage& message);

  enum class BounceRoute { Send, Defer, Drop };
  BounceRoute share_if_mapped(schema::QueuedMessage& bounce) const;

  BlockingPool& pool_;
  const sharing::ShareMapCache& share_maps_;
  boost::asio::any_io_executor executor_;
  std::string hostname_;
  std::string owner_;
  Snapshot<Destinations> current_;
  DkimKeyCache dkim_keys_;
  // Journals replaced by a reload: closed on the blocking pool, destroyed with this.
  std::vector<std::shared_ptr<JournalPublisher>> retired_journals_;
};

}  // namespace postern::delivery
