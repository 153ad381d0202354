// One delivery attempt of one claimed message: pick the upstream by route, hand the message to
// it (an SMTP upstream through its pool, or a maildir), sort each recipient into delivered,
// deferred (4xx, connection trouble; failed once the lifetime is over) or failed (5xx), queue
// one DSN to the sender for the failed ones (never for the null sender), and record it all in
// one transaction.
//
//   co_await delivery.deliver(std::move(claimed));
#pragma once

#include "postern/schema/queue_store.hpp"
#include "server/delivery/upstream.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <map>
#include <memory>
#include <string>

namespace postern {
class BlockingPool;
}

namespace postern::delivery {

class UpstreamPool;

class MessageDelivery {
 public:
  MessageDelivery(boost::asio::any_io_executor executor, BlockingPool& pool, DeliveryConfig config,
                  std::string hostname, std::string owner);
  ~MessageDelivery();

  boost::asio::awaitable<void> deliver(schema::ClaimedMessage message);

  // Shutdown: says goodbye to idle upstream connections.
  void close_idle();

  const std::string& owner() const { return owner_; }

 private:
  BlockingPool& pool_;
  DeliveryConfig config_;
  std::string hostname_;
  std::string owner_;
  std::map<std::string, std::unique_ptr<UpstreamPool>> upstreams_;
};

}  // namespace postern::delivery
