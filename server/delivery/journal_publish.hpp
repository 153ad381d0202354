// What a journal upstream (hpfeeds, AMQP: a message broker that passes each message on to its
// subscribers) makes of one message: the payload it publishes, and how the attempt ended. The
// publishers are hpfeeds_publisher.hpp and amqp_publisher.hpp; MessageDelivery reads the queued
// message whole (a journal frame carries it in one piece), builds the payload once and hands it
// to the upstream's publisher.
//
//   auto payload = std::make_shared<const std::string>(journal_payload(message, JournalFormat::Json));
//   JournalResult result = co_await publisher.publish(payload);
#pragma once

#include "server/delivery/upstream.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace postern::delivery {

struct JournalResult {
  enum class Kind {
    Delivered,  // the broker took it (AMQP: acked; hpfeeds: written, no error within the grace)
    Deferred,   // try again later: broker away, refused the login, nacked or returned it
    Failed,     // never publishable as configured (a frame over the broker's limit)
  };
  Kind kind = Kind::Deferred;
  std::string detail;  // what happened, for the log and `mailadmin queue show`; empty when delivered
};

// A journal upstream's connection(s) to its broker, kept between messages.
class JournalPublisher {
 public:
  virtual ~JournalPublisher() = default;
  // Publishes `payload` (journal_payload's) once; every failure is in the result.
  virtual boost::asio::awaitable<JournalResult> publish(std::shared_ptr<const std::string> payload) = 0;
  // Shutdown: closes the connections.
  virtual void close() = 0;
};

// The publisher for an upstream of kind hpfeeds or amqp.
std::unique_ptr<JournalPublisher> make_journal_publisher(boost::asio::any_io_executor executor,
                                                         const Upstream& upstream);

// The bytes a journal publishes for `message` (the stored message, exactly as queued):
//   Raw:  the message itself;
//   Json: the seed collector's object {"msg": the text, "sha256": hex SHA-256 of the raw bytes};
//         when the message is not valid UTF-8, "msg" has each invalid sequence replaced by U+FFFD
//         and "msg_base64" holds the raw bytes (base64), so nothing is lost.
// JSON is written compactly (no spaces), keys in that order: msg, msg_base64, sha256.
std::string journal_payload(std::string_view message, JournalFormat format);

}  // namespace postern::delivery
