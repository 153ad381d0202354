// See command_verdict.hpp.
#include "server/handlers/command_verdict.hpp"

#include <string.h>

namespace postern::handlers {
namespace {

constexpr std::size_t kMaxReplyText = 200;

// The first line of the program's output, fit for a reply line: printable ASCII, bounded.
std::string reply_text(const std::string& output) {
  std::string text;
  for (char c : output.substr(0, output.find('\n'))) {
    if (text.size() == kMaxReplyText) break;
    if (c == '\r') continue;
    text.push_back(c >= 32 && c < 127 ? c : '?');
  }
  const auto first = text.find_first_not_of(' ');
  return first == std::string::npos ? "Message rejected" : text.substr(first);
}

CommandVerdict defer(std::string reason) {
  return {CommandVerdict::Kind::Defer, handling_failed_reply(), std::move(reason)};
}

}  // namespace

const smtp::Reply& handling_failed_reply() {
  static const smtp::Reply reply =
      smtp::Reply::line(451, "4.3.0", "Temporary failure in message handling, try again later");
  return reply;
}

CommandVerdict judge_command(const Command& command, const CommandResult& result) {
  using End = CommandResult::End;
  switch (result.end) {
    case End::NotStarted:
      return defer("cannot run: " + result.problem);
    case End::TimedOut:
      return defer("timed out after " + std::to_string(command.timeout_seconds) + " s (killed)");
    case End::OutputTooLarge:
      return defer("output over " + std::to_string(command.max_output) + " bytes (killed)");
    case End::Signaled: {
      const char* name = sigabbrev_np(result.status);
      return defer("killed by signal " + std::to_string(result.status) + (name ? std::string(" (SIG") + name + ")" : ""));
    }
    case End::Exited:
      break;
  }
  const int status = result.status;
  if (status == 0) {
    return {command.mode == Command::Mode::Rewrite ? CommandVerdict::Kind::Rewrite : CommandVerdict::Kind::Continue,
            {}, "exit 0"};
  }
  if (command.discard_status && status == *command.discard_status) {
    return {CommandVerdict::Kind::Discard, {}, "exit " + std::to_string(status) + " (discard_status)"};
  }
  if (status == kExitNoPerm) {
    return {CommandVerdict::Kind::Reject, smtp::Reply::line(550, "5.7.1", reply_text(result.output)),
            "exit 77 (EX_NOPERM)"};
  }
  if (status == kExitTempFail) return defer("exit 75 (EX_TEMPFAIL)");
  return defer("exit " + std::to_string(status));
}

bool RewrittenMessage::refuse(std::string why) {
  if (problem_.empty()) problem_ = std::move(why);
  return false;
}

bool RewrittenMessage::add(std::string_view piece, std::string& out) {
  if (!problem_.empty()) return false;
  const std::size_t had = out.size();
  for (const char c : piece) {
    if (cr_pending_) {
      if (c != '\n') return refuse("the new message holds a bare CR");
      cr_pending_ = false;
      out += "\r\n";
      line_length_ = 0;
    } else if (c == '\r') {
      cr_pending_ = true;  // the CRLF is written at its LF
    } else if (c == '\n') {
      out += "\r\n";
      line_length_ = 0;
    } else if (c == '\0') {
      return refuse("the new message holds a NUL byte");
    } else if (++line_length_ > 998) {
      return refuse("the new message has a line over 998 octets");
    } else {
      out.push_back(c);
    }
  }
  size_ += out.size() - had;
  if (size_ > max_size_) return refuse("the new message is over " + std::to_string(max_size_) + " octets");
  return true;
}

bool RewrittenMessage::finish(std::string& out) {
  if (!problem_.empty()) return false;
  if (cr_pending_) return refuse("the new message holds a bare CR");
  if (size_ == 0 && line_length_ == 0) return refuse("the new message is empty");
  if (line_length_ > 0) return add("\n", out);
  return true;
}

std::string prepare_rewritten_message(std::string& message, std::size_t max_size) {
  RewrittenMessage rewritten{max_size};
  std::string prepared;
  prepared.reserve(message.size() + message.size() / 32);
  if (rewritten.add(message, prepared) && rewritten.finish(prepared)) message = std::move(prepared);
  return rewritten.problem();
}

}  // namespace postern::handlers
