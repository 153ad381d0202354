// See handler_chain.hpp.
#include "server/queue/handler_chain.hpp"

#include "postern/schema/address.hpp"
#include "server/handlers/command_verdict.hpp"
#include "server/handlers/conditions.hpp"
#include "server/handlers/edits.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/command_runner.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/metrics.hpp"

#include <algorithm>
#include <chrono>

namespace postern::queue {
namespace {

using namespace postern::handlers;

// The longest any handler's command may run, and a margin: the pool's own wait bound, which
// only a stuck pool reaches (the program's timeout ends it first).
std::chrono::milliseconds longest_wait(const std::vector<Handler>& handlers) {
  unsigned seconds = 0;
  for (const auto& h : handlers) {
    if (const auto* command = std::get_if<Command>(&h.action)) seconds = std::max(seconds, command->timeout_seconds);
  }
  return std::chrono::seconds(seconds + 30);
}

const char* result_name(ChainResult::Kind kind) {
  switch (kind) {
    case ChainResult::Kind::Continue: return "continue";
    case ChainResult::Kind::Discard: return "discard";
    case ChainResult::Kind::Refuse: return "reject";
    case ChainResult::Kind::Defer: return "defer";
  }
  return "continue";
}

ChainResult ends(ChainResult::Kind kind, const Handler& handler, smtp::Reply reply, std::string reason) {
  return {kind, std::move(reply), handler.name, std::move(reason)};
}

ChainResult deferred(const Handler& handler, std::string reason) {
  return ends(ChainResult::Kind::Defer, handler, handling_failed_reply(), std::move(reason));
}

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) {
    if (!text.empty()) text += ',';
    text += item;
  }
  return text;
}

// The program's whole environment: a fixed PATH, the message's envelope, the handler's own
// variables. Nothing of the relay's (its database URL, its secrets) is inherited.
std::vector<std::string> command_environment(const Handler& handler, const Command& command,
                                             const MessageUnderWay& message) {
  std::vector<std::string> environment = {
      "PATH=/usr/local/bin:/usr/bin:/bin",
      "POSTERN_SENDER=" + message.sender,
      "POSTERN_RECIPIENTS=" + joined(message.recipients),
      "POSTERN_USER=" + message.user,
      "POSTERN_CLIENT=" + message.client_address,
      "POSTERN_QUEUE_ID=" + message.id,
      "POSTERN_HANDLER=" + handler.name,
  };
  for (const auto& [name, value] : command.environment) environment.push_back(name + "=" + value);
  return environment;
}

// A built-in action: applied at once, on this thread.
ChainResult apply_builtin(const Handler& handler, MessageUnderWay& message, const schema::UserGrants& grants,
                          const schema::SenderPolicy& policy) {
  const Action& action = handler.action;
  if (std::holds_alternative<Discard>(action)) return ends(ChainResult::Kind::Discard, handler, {}, "discard");
  if (const auto* reject = std::get_if<Reject>(&action)) {
    return ends(ChainResult::Kind::Refuse, handler, reject->reply, "reject");
  }
  if (const auto* defer = std::get_if<Defer>(&action)) {
    return ends(ChainResult::Kind::Defer, handler, defer->reply, "defer");
  }
  if (const auto* route = std::get_if<Route>(&action)) {
    message.upstream = route->upstream;
    return {};
  }
  if (const auto* sender = std::get_if<SetSender>(&action); sender && !sender->any_user) {
    const auto address = schema::parse_address(sender->address);
    if (!address || !schema::may_send_as(grants, *address, policy).allowed) {
      return ends(ChainResult::Kind::Refuse, handler,
                  smtp::Reply::line(550, "5.7.1", "Sender address rejected: not owned by user"),
                  "set_sender: " + message.user + " may not send as " + sender->address);
    }
  }
  Draft draft{std::move(message.sender), std::move(message.recipients), std::move(message.head.header_section)};
  std::visit(
      [&](const auto& edit) {
        using Edit = std::decay_t<decltype(edit)>;
        if constexpr (std::is_same_v<Edit, SetRecipient> || std::is_same_v<Edit, SetSender> ||
                      std::is_same_v<Edit, AddHeader> || std::is_same_v<Edit, RemoveHeader>) {
          apply(draft, edit);
        }
      },
      action);
  message.sender = std::move(draft.sender);
  message.recipients = std::move(draft.recipients);
  message.head.header_section = std::move(draft.header_section);
  if (const auto* sender = std::get_if<SetSender>(&action); sender && sender->any_user) {
    message.vouched_senders.push_back(sender->address);
  }
  return {};
}

// What the program reads on stdin: the header section as it stands, the body read with it, then
// the spool from `start`. A spool that cannot be read ends the input and is remembered.
struct CommandInput {
  std::string head;
  std::shared_ptr<MessageSpool> spool;
  std::uint64_t start = 0;
};

// With mode: rewrite, where the program's stdout goes as it arrives: prepared (line endings,
// checks) into a spool of its own, so that a large new message is never held whole. A problem
// is remembered and the rest of the output dropped: it matters only if the program then exits 0.
struct RewriteOutput {
  RewriteOutput(const SpoolSettings& settings, std::size_t max_size)
      : spool(std::make_shared<MessageSpool>(settings)), message(max_size) {}

  void take(std::string_view piece) {
    if (!problem.empty()) return;
    prepared.clear();
    if (!message.add(piece, prepared)) {
      problem = "rewrite refused: " + message.problem();
      return;
    }
    store();
  }
  void finish() {
    if (!problem.empty()) return;
    prepared.clear();
    if (!message.finish(prepared)) {
      problem = "rewrite refused: " + message.problem();
      return;
    }
    store();
  }

  std::shared_ptr<MessageSpool> spool;
  RewrittenMessage message;
  std::string prepared;  // one piece's prepared form
  std::string problem;

 private:
  void store() {
    try {
      spool->append(prepared);
    } catch (const SpoolError& e) {
      problem = std::string("rewrite not stored: ") + e.what();
    }
  }
};

struct CommandRun {
  CommandResult result;
  std::string spool_error;  // the spool could not be read: the program saw part of the message
};

// `output`: null unless mode: rewrite.
CommandRun run_on_pool(CommandSpec& spec, const CommandInput& input, const std::shared_ptr<RewriteOutput>& output) {
  CommandRun run;
  input.spool->seek(input.start);
  std::size_t offset = 0;
  if (output) spec.output_sink = [&output](std::string_view piece) { output->take(piece); };
  run.result = run_command(spec, [&](char* data, std::size_t size) -> std::size_t {
    if (offset < input.head.size()) {
      const std::size_t n = input.head.copy(data, size, offset);
      offset += n;
      return n;
    }
    try {
      return input.spool->read(data, size);
    } catch (const SpoolError& e) {
      run.spool_error = e.what();
      return 0;
    }
  });
  if (output) output->finish();
  return run;
}

}  // namespace

std::uint64_t MessageUnderWay::size() const {
  const std::uint64_t rest = spool ? spool->size() - spool->position() : 0;
  return head.header_section.size() + head.body_start.size() + rest;
}

HandlerChain::HandlerChain(HandlerSettings settings, ChainOptions options)
    : command_workers_(settings.command_workers), command_queue_(settings.command_queue), current_(Chain{}) {
  reconfigure(std::move(settings.handlers), std::move(options));
}

HandlerChain::~HandlerChain() { stop(); }

void HandlerChain::stop() {
  if (commands_) commands_->stop();
  for (auto& pool : retired_) pool->stop();
}

void HandlerChain::reconfigure(std::vector<Handler> handlers, ChainOptions options) {
  for (const auto& h : handlers) {
    for (const char* result : {"continue", "discard", "reject", "defer"}) {
      metrics::smtp().handler_results.declare({h.name, result});
    }
    metrics::smtp().messages_discarded.declare({h.name});
  }
  std::shared_ptr<BlockingPool> commands = command_pool(handlers);
  current_.replace(Chain{std::move(handlers), std::move(options), std::move(commands)});
}

std::shared_ptr<BlockingPool> HandlerChain::command_pool(const std::vector<Handler>& handlers) {
  const bool any = std::any_of(handlers.begin(), handlers.end(),
                               [](const Handler& h) { return std::holds_alternative<Command>(h.action); });
  if (!any) return nullptr;
  const std::chrono::milliseconds wait = longest_wait(handlers);
  if (commands_ && wait <= commands_wait_) return commands_;
  // A command may now run longer than the pool waits: a new pool; the old one finishes what it
  // runs and stops with the chain.
  if (commands_) retired_.push_back(std::move(commands_));
  BlockingPool::Options pool;  // its work never opens a database connection
  pool.threads = command_workers_;
  pool.max_waiting = command_queue_;
  pool.wait_timeout = wait;
  commands_ = std::make_shared<BlockingPool>(std::move(pool));
  commands_wait_ = wait;
  return commands_;
}

boost::asio::awaitable<ChainResult> HandlerChain::run(MessageUnderWay& message, const schema::UserGrants& grants) {
  const std::shared_ptr<const Chain> chain = current_.get();
  for (const Handler& handler : chain->handlers) {
    const MessageFacts facts{message.sender, message.recipients, message.user, message.head.header_section,
                             message.size(), chain->options.policy.subaddress_delimiter};
    if (!conditions_hold(handler.when, facts)) continue;
    ChainResult result;
    if (std::holds_alternative<Command>(handler.action)) {
      result = co_await run_command(*chain, handler, message);
    } else {
      result = apply_builtin(handler, message, grants, chain->options.policy);
    }
    const char* outcome = result_name(result.kind);
    metrics::smtp().handler_results.inc({handler.name, outcome});
    log::info("handler", {{"id", message.id}, {"handler", handler.name}, {"action", action_name(handler.action)},
                          {"result", outcome}, {"reason", result.reason}});
    if (result.kind != ChainResult::Kind::Continue) co_return result;
  }
  co_return ChainResult{};
}

boost::asio::awaitable<ChainResult> HandlerChain::run_command(const Chain& chain, const Handler& handler,
                                                              MessageUnderWay& message) {
  const auto& command = std::get<Command>(handler.action);
  CommandSpec spec;
  spec.argv = command.argv;
  spec.environment = command_environment(handler, command, message);
  spec.working_directory = command.working_directory;
  spec.timeout = std::chrono::seconds(command.timeout_seconds);
  spec.max_output = command.max_output;
  CommandInput input{message.head.header_section + message.head.body_start, message.spool, message.spool->position()};
  std::shared_ptr<RewriteOutput> output;
  if (command.mode == Command::Mode::Rewrite) {
    output = std::make_shared<RewriteOutput>(chain.options.spool, chain.options.max_message_size);
  }
  CommandRun run;
  try {
    // The work owns its input and output (the spools are shared): after a WaitTimeout it may
    // still be running.
    run = co_await chain.commands->run(
        [](BlockingContext&, CommandSpec& s, const CommandInput& in, const std::shared_ptr<RewriteOutput>& out) {
          return run_on_pool(s, in, out);
        },
        spec, input, output);
  } catch (const std::exception& e) {
    co_return deferred(handler, std::string("not run: ") + e.what());  // the pool is full or stuck
  }
  message.spool->seek(input.start);
  if (!run.spool_error.empty()) co_return deferred(handler, "the message could not be read: " + run.spool_error);
  CommandVerdict verdict = judge_command(command, run.result);
  std::string reason = std::move(verdict.reason);
  if (!run.result.error_output.empty() && verdict.kind != CommandVerdict::Kind::Continue) {
    reason += "; stderr: " + run.result.error_output.substr(0, run.result.error_output.find('\n'));
  }
  switch (verdict.kind) {
    case CommandVerdict::Kind::Continue:
      co_return ChainResult{ChainResult::Kind::Continue, {}, {}, std::move(reason)};
    case CommandVerdict::Kind::Discard:
      co_return ends(ChainResult::Kind::Discard, handler, {}, std::move(reason));
    case CommandVerdict::Kind::Reject:
      co_return ends(ChainResult::Kind::Refuse, handler, std::move(verdict.reply), std::move(reason));
    case CommandVerdict::Kind::Defer:
      co_return ends(ChainResult::Kind::Defer, handler, std::move(verdict.reply), std::move(reason));
    case CommandVerdict::Kind::Rewrite:
      break;
  }
  if (!output->problem.empty()) co_return deferred(handler, output->problem);
  try {
    auto head = read_header_section(*output->spool, kMaxHeaderSection);
    if (!head) co_return deferred(handler, "rewrite refused: its header section is over the limit");
    message.head = std::move(*head);
    message.spool = std::move(output->spool);
  } catch (const SpoolError& e) {
    co_return deferred(handler, std::string("rewrite not read back: ") + e.what());
  }
  co_return ChainResult{ChainResult::Kind::Continue, {}, {}, "rewritten (" + std::to_string(message.size()) + " octets)"};
}

}  // namespace postern::queue
