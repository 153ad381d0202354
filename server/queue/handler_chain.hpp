// The handlers of postern.yaml (server/handlers/handler.hpp) run on one message at the end of
// DATA, in file order, before it is queued: each whose `when` holds applies its action to the
// message under way (the envelope, the header section, the content, the chosen upstream).
// Edits and routes go on to the next handler; a discard, a rejection or a deferral ends the chain
// and is what the client hears (a discard: 250, the message never queued). A `command` runs on
// the chain's own pool (handler_commands.workers threads, started only when some handler has a
// command), never on an I/O thread; the session's coroutine waits for it.
//
//   HandlerChain chain{config.handlers, options};
//   ChainResult result = co_await chain.run(message, grants);
//   if (result.kind != ChainResult::Kind::Continue) answer(result.reply);
#pragma once

#include "postern/schema/sender_rule.hpp"
#include "server/handlers/handler.hpp"
#include "server/queue/message_spool.hpp"
#include "server/queue/spooled_message.hpp"
#include "server/runtime/snapshot.hpp"
#include "server/smtp/reply.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace postern {
class BlockingPool;
}

namespace postern::queue {

// A message between DATA and the queue, as the handlers leave it.
struct MessageUnderWay {
  std::string id;  // its queue id, known before it is queued (POSTERN_QUEUE_ID)
  std::string sender;
  std::vector<std::string> recipients;
  std::string user;
  std::string client_address;
  HeaderSection head;                   // the header section (edited) and the body read with it
  std::shared_ptr<MessageSpool> spool;  // the rest of the content, from its current position
  std::string upstream;                 // chosen by a `route` handler; empty: by the routes
  // Addresses a `set_sender` with any_user put in From:: the header From policy accepts them.
  std::vector<std::string> vouched_senders;

  // The whole message's octets as it stands.
  std::uint64_t size() const;
};

struct ChainResult {
  enum class Kind { Continue, Discard, Refuse, Defer };
  Kind kind = Kind::Continue;
  smtp::Reply reply;    // Refuse and Defer
  std::string handler;  // the handler that ended the chain
  std::string reason;   // for the log
};

struct ChainOptions {
  schema::SenderPolicy policy;     // set_sender: may the user send as the address?
  SpoolSettings spool;             // where a rewritten message goes
  std::size_t max_message_size = 0;
};

class HandlerChain {
 public:
  HandlerChain(handlers::HandlerSettings settings, ChainOptions options);
  ~HandlerChain();

  bool empty() const { return current_.get()->handlers.empty(); }

  // A reload: messages that reach the chain from now on run these handlers; those running
  // finish theirs. The command pool keeps its size (handler_commands needs a restart).
  void reconfigure(std::vector<handlers::Handler> handlers, ChainOptions options);

  // Shutdown: lets the running commands end (each within its timeout), starts no new one.
  void stop();

  boost::asio::awaitable<ChainResult> run(MessageUnderWay& message, const schema::UserGrants& grants);

 private:
  // What one message runs through, taken when it enters the chain.
  struct Chain {
    std::vector<handlers::Handler> handlers;
    ChainOptions options;
    std::shared_ptr<BlockingPool> commands;  // null when no handler runs a command
  };

  boost::asio::awaitable<ChainResult> run_command(const Chain& chain, const handlers::Handler& handler,
                                                  MessageUnderWay& message);
  // The pool for `handlers`' commands: the current one while its wait bound covers them.
  std::shared_ptr<BlockingPool> command_pool(const std::vector<handlers::Handler>& handlers);

  const unsigned command_workers_;
  const unsigned command_queue_;
  Snapshot<Chain> current_;
  // Only the constructor, reconfigure() (one reload at a time) and stop() touch these.
  std::shared_ptr<BlockingPool> commands_;
  std::chrono::milliseconds commands_wait_{0};
  std::vector<std::shared_ptr<BlockingPool>> retired_;  // replaced pools: stopped with the chain
};

}  // namespace postern::queue
