// Runs one external program to its end and collects what it wrote: the `command` handlers'
// engine. It blocks, so it runs on a BlockingPool thread, never on an I/O thread:
//
//   CommandSpec spec{.argv = {"/usr/local/lib/postern/check", "--strict"},
//                    .environment = {"POSTERN_SENDER=a@example.com"},
//                    .timeout = std::chrono::seconds(30), .max_output = 1 << 20};
//   CommandResult r = run_command(spec, [&](char* data, std::size_t size) { return spool.read(data, size); });
//   if (r.end == CommandResult::End::Exited && r.status == 0) ...
//
// The program is started with posix_spawn — no shell, no PATH search — in a process group of its
// own, with exactly the given environment, default signal dispositions, an empty signal mask, and
// no descriptors but its stdin, stdout and stderr (pipes to this process). One poll() loop feeds
// stdin from `input` while it reads stdout and stderr, so neither side can stall the other; a
// program that exits or closes stdin before reading all of it is no error: it gets no more.
// Everything happens under one deadline, from the spawn to the exit. At the deadline, or when
// stdout grows past max_output, the whole group is killed (grandchildren too) and the program
// reaped: nothing outlives a bad command, no zombie stays. The command is over when its stdout
// and stderr are closed and it has exited; a background process it left holding them keeps it
// running, into the deadline. One that let go of them is left alone.
//
// What the program does is reported in CommandResult, never thrown. Thread-safe: pool threads run
// commands at once. While it runs, the calling thread blocks SIGPIPE (a program that closes stdin
// makes our next write raise it) and takes away the SIGPIPE it caused, so this works whether or
// not the process ignores SIGPIPE. Requires that nothing else in the process reaps children it
// did not start (no waitpid(-1), SIGCHLD not ignored).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace postern {

// With CommandSpec::output_sink, how much of stdout CommandResult::output still keeps (enough
// for a first line to quote in a reply).
inline constexpr std::size_t kOutputHead = 1024;

struct CommandSpec {
  std::vector<std::string> argv;          // argv[0]: absolute path of the program; never a shell
  std::vector<std::string> environment;   // "NAME=value": the program's whole environment
  std::string working_directory;          // empty: "/"
  std::chrono::milliseconds timeout{0};   // from spawn to exit, covering input, output and wait
  std::size_t max_output = 0;             // stdout bytes kept; one byte more: OutputTooLarge
  // When set, stdout goes here piece by piece as it arrives (still at most max_output in all)
  // and CommandResult::output keeps only its first kOutputHead bytes: a large output is never
  // held whole. An exception it throws ends the command (its group killed and reaped) and is
  // rethrown.
  std::function<void(std::string_view)> output_sink;
  std::size_t max_error_output = 4096;    // stderr bytes kept; the rest is read and dropped
};

struct CommandResult {
  enum class End {
    Exited,          // status: its exit status
    Signaled,        // status: the signal that ended it
    TimedOut,        // killed (with its group) at the deadline
    OutputTooLarge,  // killed (with its group) when stdout passed max_output
    NotStarted,      // problem says why
  };
  End end = End::NotStarted;
  int status = 0;
  std::string output;        // stdout, at most max_output bytes, what came before a kill too
                             // (with output_sink: only its first kOutputHead bytes)
  std::string error_output;  // the first max_error_output bytes of stderr
  std::string problem;       // NotStarted: e.g. "/x/y: No such file or directory"
};

// Runs spec.argv and feeds its stdin from `input(buffer, size)`, which returns how many bytes it
// put there, 0 at the end (stdin is then closed). An exception from `input` propagates after the
// program's group has been killed and reaped; so do system failures that leave no way on
// (std::bad_alloc, std::system_error from poll or waitpid).
CommandResult run_command(const CommandSpec& spec, const std::function<std::size_t(char*, std::size_t)>& input);

}  // namespace postern
