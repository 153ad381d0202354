// One connection of an AmqpPublisher to its broker (AMQP 0-9-1 through librabbitmq): TCP or
// TLS, logged in on the upstream's vhost, one channel in confirm mode (publisher confirms) and
// the exchange declared. Every call blocks, each wait bounded by the upstream's timeout_seconds,
// so it runs on the publisher's pool threads, used by one thread at a time (a librabbitmq
// connection is not thread-safe). After any error it is broken and replaced by a fresh one.
//
//   AmqpConnection connection{upstream, watchdog};
//   if (std::string failure = connection.open(); !failure.empty()) ...  // "amqp: login refused: ..."
//   JournalResult result = connection.publish(payload);  // once the broker acked, nacked or returned it
//   if (connection.broken()) ...                         // replace it; else keep it for the next message
//   connection.close();                                  // connection.close handshake, then the socket
#pragma once

#include "server/delivery/journal_publish.hpp"
#include "server/delivery/socket_watchdog.hpp"
#include "server/delivery/upstream.hpp"

#include <chrono>
#include <cstdint>
#include <string>

using amqp_connection_state_t = struct amqp_connection_state_t_*;
using amqp_rpc_reply_t = struct amqp_rpc_reply_t_;

namespace postern::delivery {

class AmqpConnection {
 public:
  AmqpConnection(const Upstream& upstream, SocketWatchdog& watchdog);
  // Drops the socket without a handshake unless close() came first.
  ~AmqpConnection();
  AmqpConnection(const AmqpConnection&) = delete;
  AmqpConnection& operator=(const AmqpConnection&) = delete;

  // Connects, logs in, opens the channel, selects confirms and declares the exchange (unless
  // declare_exchange is off). Empty on success, else the detail of a Deferred result.
  std::string open();

  // False when the connection cannot take the next message: broken, or closed (or anything else
  // sent) by the broker while it was idle, e.g. a broker that restarted.
  bool usable();

  // Publishes `payload` to the exchange with the routing key and waits for the broker's confirm:
  // ack → Delivered; nack, return (unroutable, with mandatory), a closed channel or connection,
  // an error or a timeout → Deferred; a message over the broker's size limit → Failed.
  JournalResult publish(const std::string& payload);

  // After an error the connection must not carry another message.
  bool broken() const { return broken_; }

  // The connection.close handshake when the broker still talks, bounded; then the socket.
  void close();

 private:
  std::string setup_failure(const std::string& step, const amqp_rpc_reply_t& reply);
  JournalResult await_confirm(std::uint64_t tag);
  JournalResult broker_closed(bool channel, unsigned code, const std::string& text);
  JournalResult drop(std::string detail);
  std::string where() const;  // "host:port"
  std::string timed_out() const;

  const Upstream& upstream_;
  SocketWatchdog& watchdog_;
  std::chrono::seconds timeout_;
  amqp_connection_state_t state_ = nullptr;
  bool open_ = false;    // logged in and the channel is ready
  bool broken_ = false;  // never to be used again
  bool talks_ = false;   // the broker still reads this connection: close() may say goodbye
  std::uint64_t delivery_tag_ = 0;  // of the last message published on the channel
};

}  // namespace postern::delivery
