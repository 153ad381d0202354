// End of DATA: the message filters (header From/Sender policy, submission headers of RFC 6409
// §8) and then the queue. accept() returns the exact reply for the client; 250 only after the
// PostgreSQL statement that stores the message has committed.
//
//   smtp::Reply reply = co_await intake.accept(std::move(envelope), facts, grants);
#pragma once

#include "postern/schema/sender_rule.hpp"
#include "server/smtp/reply.hpp"
#include "server/smtp/step.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace postern {
class BlockingPool;
}

namespace postern::queue {

struct IntakeOptions {
  std::string hostname;
  bool check_header_from = true;
  bool add_message_id = true;
  bool add_date = true;
  bool add_received = true;
  bool add_x_peer = false;
};

// What the session knows about its client, for the trace header and the log.
struct SessionFacts {
  std::string client_address;
  bool tls = false;
  std::string tls_version;
  std::string tls_cipher;
};

class MessageIntake {
 public:
  MessageIntake(BlockingPool& pool, IntakeOptions options, schema::SenderPolicy policy)
      : pool_(pool), options_(std::move(options)), policy_(std::move(policy)) {}

  boost::asio::awaitable<smtp::Reply> accept(smtp::Envelope envelope, const SessionFacts& facts,
                                             const schema::UserGrants& grants);

 private:
  BlockingPool& pool_;
  IntakeOptions options_;
  schema::SenderPolicy policy_;
};

}  // namespace postern::queue
