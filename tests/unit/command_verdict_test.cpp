// How a command handler's end decides the message (server/handlers/command_verdict.hpp), and the
// checks of a rewritten message.
#include "server/handlers/command_verdict.hpp"

#include <gtest/gtest.h>

#include <csignal>

namespace postern::handlers {
namespace {

using Kind = CommandVerdict::Kind;
using End = CommandResult::End;

CommandResult ended(End end, int status = 0, std::string output = "") {
  CommandResult r;
  r.end = end;
  r.status = status;
  r.output = std::move(output);
  return r;
}

Command check_command() {
  Command c;
  c.argv = {"/bin/true"};
  return c;
}

TEST(CommandVerdict, ExitZeroContinuesOrRewrites) {
  Command c = check_command();
  EXPECT_EQ(judge_command(c, ended(End::Exited, 0)).kind, Kind::Continue);
  c.mode = Command::Mode::Rewrite;
  EXPECT_EQ(judge_command(c, ended(End::Exited, 0)).kind, Kind::Rewrite);
}

TEST(CommandVerdict, TheConfiguredStatusDiscards) {
  Command c = check_command();
  EXPECT_EQ(judge_command(c, ended(End::Exited, 99)).kind, Kind::Defer);  // not configured
  c.discard_status = 99;
  EXPECT_EQ(judge_command(c, ended(End::Exited, 99)).kind, Kind::Discard);
}

TEST(CommandVerdict, ExNoPermRejectsWithTheFirstLine) {
  const auto v = judge_command(check_command(), ended(End::Exited, 77, "  Not for robots\r\nsecond line\n"));
  EXPECT_EQ(v.kind, Kind::Reject);
  EXPECT_EQ(v.reply, smtp::Reply::line(550, "5.7.1", "Not for robots"));
  // Nothing said: a plain text; control characters never reach the reply line.
  EXPECT_EQ(judge_command(check_command(), ended(End::Exited, 77)).reply,
            smtp::Reply::line(550, "5.7.1", "Message rejected"));
  EXPECT_EQ(judge_command(check_command(), ended(End::Exited, 77, "a\tb\x01")).reply.lines.front(), "a?b?");
  EXPECT_EQ(judge_command(check_command(), ended(End::Exited, 77, std::string(500, 'x'))).reply.lines.front().size(),
            200u);
}

TEST(CommandVerdict, EverythingElseDefersWith451) {
  const smtp::Reply expected = smtp::Reply::line(451, "4.3.0", "Temporary failure in message handling, try again later");
  struct Case {
    CommandResult result;
    std::string reason;
  };
  CommandResult not_started = ended(End::NotStarted);
  not_started.problem = "/x: No such file or directory";
  const Case cases[] = {
      {ended(End::Exited, 75), "exit 75 (EX_TEMPFAIL)"},
      {ended(End::Exited, 1), "exit 1"},
      {ended(End::Exited, 64), "exit 64"},
      {ended(End::Signaled, SIGSEGV), "killed by signal 11 (SIGSEGV)"},
      {ended(End::TimedOut), "timed out after 30 s (killed)"},
      {ended(End::OutputTooLarge), "output over 65536 bytes (killed)"},
      {not_started, "cannot run: /x: No such file or directory"},
  };
  for (const auto& c : cases) {
    const auto v = judge_command(check_command(), c.result);
    EXPECT_EQ(v.kind, Kind::Defer) << c.reason;
    EXPECT_EQ(v.reply, expected) << c.reason;
    EXPECT_EQ(v.reason, c.reason);
  }
}

TEST(RewrittenMessage, LineEndingsBecomeCrlf) {
  std::string m = "Subject: x\n\nbody\nlast";
  EXPECT_EQ(prepare_rewritten_message(m, 1000), "");
  EXPECT_EQ(m, "Subject: x\r\n\r\nbody\r\nlast\r\n");
  std::string crlf = "Subject: x\r\n\r\nbody\r\n";
  EXPECT_EQ(prepare_rewritten_message(crlf, 1000), "");
  EXPECT_EQ(crlf, "Subject: x\r\n\r\nbody\r\n");
}

TEST(RewrittenMessage, BadOutputIsRefusedAndLeftAlone) {
  std::string cr = "Subject: x\r\n\r\na\rb\r\n";
  EXPECT_EQ(prepare_rewritten_message(cr, 1000), "the new message holds a bare CR");
  EXPECT_EQ(cr, "Subject: x\r\n\r\na\rb\r\n");
  std::string nul("a\0b\n", 4);
  EXPECT_EQ(prepare_rewritten_message(nul, 1000), "the new message holds a NUL byte");
  std::string empty;
  EXPECT_EQ(prepare_rewritten_message(empty, 1000), "the new message is empty");
  std::string long_line = std::string(999, 'x') + "\n";
  EXPECT_EQ(prepare_rewritten_message(long_line, 5000), "the new message has a line over 998 octets");
  std::string fits = std::string(998, 'x') + "\n";
  EXPECT_EQ(prepare_rewritten_message(fits, 5000), "");
  std::string big = "a\nb\n";  // 6 octets once CRLF
  EXPECT_EQ(prepare_rewritten_message(big, 5), "the new message is over 5 octets");
}

TEST(RewrittenMessage, PiecesAreJoinedAcrossTheirEdges) {
  RewrittenMessage rewritten{1000};
  std::string out;
  EXPECT_TRUE(rewritten.add("Subject: x\r", out));  // its LF comes with the next piece
  EXPECT_TRUE(rewritten.add("\n\nbo", out));
  EXPECT_TRUE(rewritten.add("dy", out));
  EXPECT_TRUE(rewritten.finish(out));
  EXPECT_EQ(out, "Subject: x\r\n\r\nbody\r\n");

  RewrittenMessage bare{1000};
  out.clear();
  EXPECT_TRUE(bare.add("a\r", out));
  EXPECT_FALSE(bare.add("b\n", out));
  EXPECT_EQ(bare.problem(), "the new message holds a bare CR");
  EXPECT_FALSE(bare.finish(out));  // refused for good

  RewrittenMessage trailing{1000};
  out.clear();
  EXPECT_TRUE(trailing.add("a\r", out));
  EXPECT_FALSE(trailing.finish(out));
  EXPECT_EQ(trailing.problem(), "the new message holds a bare CR");
}

TEST(RewrittenMessage, LimitsCountEveryPiece) {
  RewrittenMessage sized{10};
  std::string out;
  EXPECT_TRUE(sized.add("12345\n", out));  // 7 octets once CRLF
  EXPECT_FALSE(sized.add("678\n", out));
  EXPECT_EQ(sized.problem(), "the new message is over 10 octets");

  RewrittenMessage long_line{100000};
  out.clear();
  EXPECT_TRUE(long_line.add(std::string(500, 'x'), out));
  EXPECT_FALSE(long_line.add(std::string(499, 'x'), out));
  EXPECT_EQ(long_line.problem(), "the new message has a line over 998 octets");
}

}  // namespace
}  // namespace postern::handlers
