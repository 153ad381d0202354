// The publisher of an amqp upstream (a journal, journal_publish.hpp): publishes each message to a
// RabbitMQ exchange with the upstream's routing key, and counts it delivered only once the broker
// confirmed it (publisher confirms). A nack, a return (unroutable, with mandatory), a closed
// channel, a broker away or a timeout is Deferred, so the message stays queued and is tried again.
//
//   AmqpPublisher publisher{upstream};  // kind amqp: made once per upstream, at start-up
//   auto payload = std::make_shared<const std::string>(journal_payload(message, upstream.amqp.format));
//   JournalResult result = co_await publisher.publish(payload);
//   publisher.close();                  // at shutdown: finishes what is under way, closes the connections
//
// librabbitmq blocks, so publishing runs on a pool of its own with max_connections threads (a
// BlockingPool that never opens a database connection, as HandlerChain's), never on the I/O
// threads. Each message takes an idle connection (AmqpConnection) or opens one; a connection is
// used by one thread at a time and kept for the next message unless it broke, so there are at
// most max_connections of them.
#pragma once

#include "server/delivery/journal_publish.hpp"
#include "server/delivery/upstream.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>

namespace postern {
class BlockingPool;
}

namespace postern::delivery {

class AmqpPublisher : public JournalPublisher {
 public:
  explicit AmqpPublisher(const Upstream& upstream);
  ~AmqpPublisher() override;
  AmqpPublisher(const AmqpPublisher&) = delete;
  AmqpPublisher& operator=(const AmqpPublisher&) = delete;

  // Publishes `payload` (already built by journal_payload) once to the exchange with the routing
  // key. Deferred, never thrown, when it cannot be done now.
  boost::asio::awaitable<JournalResult> publish(std::shared_ptr<const std::string> payload) override;

  // Shutdown: waits for the publishes under way (each bounded by its timeouts), closes the
  // connections, stops the threads. Later publishes are Deferred.
  void close() override;

 private:
  struct Connections;  // the upstream and its idle connections, shared with the work in flight
  std::shared_ptr<Connections> connections_;
  std::unique_ptr<BlockingPool> pool_;
};

}  // namespace postern::delivery
