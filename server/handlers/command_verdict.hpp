// What a `command` handler's end means for the message (handler.hpp), decided from how the
// program ended. Pure.
//
//   exit 0                      continue (mode: check) or take stdout as the new message (rewrite)
//   exit <discard_status>       discard: 250, logged and counted, never delivered
//   exit 77 (EX_NOPERM)         reject: 550 5.7.1 with the first line of stdout as the text
//   exit 75 (EX_TEMPFAIL), any other status, a signal, the timeout, too much output, a program
//   that could not be started  defer: 451 4.3.0, the client tries again later
//
//   CommandVerdict verdict = judge_command(handler_command, run_command(spec, input));
#pragma once

#include "server/handlers/handler.hpp"
#include "server/runtime/command_runner.hpp"
#include "server/smtp/reply.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace postern::handlers {

inline constexpr int kExitTempFail = 75;  // sysexits.h EX_TEMPFAIL
inline constexpr int kExitNoPerm = 77;    // sysexits.h EX_NOPERM

struct CommandVerdict {
  enum class Kind { Continue, Rewrite, Discard, Reject, Defer };
  Kind kind = Kind::Defer;
  smtp::Reply reply;   // Reject and Defer: what the client hears
  std::string reason;  // for the log: how the program ended
};

CommandVerdict judge_command(const Command& command, const CommandResult& result);

// "451 4.3.0 Temporary failure in message handling, try again later": what the client hears when
// a handler could not do its work (a command's deferral, a full command pool, a rewrite refused).
const smtp::Reply& handling_failed_reply();

// A rewrite's output made ready to queue as it arrives, piece by piece, so that it is never
// held whole: bare LF line endings become CRLF (scripts write LF); a bare CR, a NUL, a line over
// 998 octets (RFC 5322 §2.1.1), an empty message or one over `max_size` octets (after the
// conversion) is refused.
//
//   RewrittenMessage rewritten{max_size};
//   std::string prepared;
//   for (each piece) { prepared.clear(); if (!rewritten.add(piece, prepared)) break; store(prepared); }
//   prepared.clear(); if (rewritten.finish(prepared)) store(prepared); else refuse(rewritten.problem());
class RewrittenMessage {
 public:
  explicit RewrittenMessage(std::size_t max_size) : max_size_(max_size) {}

  // Appends the prepared form of `piece` to `out`; false once refused (then it takes no more).
  bool add(std::string_view piece, std::string& out);
  // The end: appends a final CRLF when the last line has none; false when refused.
  bool finish(std::string& out);
  // Why it was refused; "" while it was not.
  const std::string& problem() const { return problem_; }

 private:
  bool refuse(std::string why);

  std::size_t max_size_;
  std::size_t size_ = 0;         // prepared octets so far
  std::size_t line_length_ = 0;  // octets of the current line so far
  bool cr_pending_ = false;      // the last piece ended with a CR: its LF may come next
  std::string problem_;
};

// The whole message at once, prepared in place (left alone when refused): the problem, "" when none.
std::string prepare_rewritten_message(std::string& message, std::size_t max_size);

}  // namespace postern::handlers
