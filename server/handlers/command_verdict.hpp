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

// A rewrite's output made ready to queue in place: bare LF line endings become CRLF (scripts
// write LF); a bare CR, a NUL, a line over 998 octets (RFC 5322 §2.1.1), an empty message or one
// over `max_size` octets (after the conversion) is refused. Returns the problem, "" when none.
std::string prepare_rewritten_message(std::string& message, std::size_t max_size);

}  // namespace postern::handlers
