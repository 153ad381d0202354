// run_command with real processes: exit statuses and signals, stdin fed while stdout is read
// (megabytes both ways, no deadlock), programs that never read stdin, the deadline and the
// output bound killing the whole process group, bounded stderr, failures to start, a clean
// environment, the working directory, default signal dispositions, no inherited descriptors,
// and several commands at once. Time is asserted only as generous upper bounds that prove
// nothing hung.
#include "server/runtime/command_runner.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace postern {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using End = CommandResult::End;

CommandSpec spec_of(std::vector<std::string> argv, std::chrono::milliseconds timeout = 20s) {
  CommandSpec spec;
  spec.argv = std::move(argv);
  spec.timeout = timeout;
  spec.max_output = 64 * 1024 * 1024;
  return spec;
}

CommandSpec shell(const std::string& script, std::chrono::milliseconds timeout = 20s) {
  return spec_of({"/bin/sh", "-c", script}, timeout);
}

CommandResult run(const CommandSpec& spec, std::string_view input = {}) {
  std::size_t given = 0;
  return run_command(spec, [&](char* data, std::size_t size) {
    const std::size_t n = std::min(size, input.size() - given);
    std::copy_n(input.data() + given, n, data);
    given += n;
    return n;
  });
}

// Bytes that are not all alike, so a lost or repeated piece shows.
std::string pattern(std::size_t size) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 7919 + i / 65536) % 251);
  return bytes;
}

// A /proc/<pid>/stat line: "pid (comm) state ppid pgrp ..."; comm may hold spaces and ')'.
struct ProcessStat {
  char state = '?';
  long pgrp = 0;
};
bool parse_stat(const std::string& line, ProcessStat& stat) {
  const auto close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 1));
  long ppid;
  return static_cast<bool>(rest >> stat.state >> ppid >> stat.pgrp);
}

// Processes of group `pgid` that are still alive (a zombie is dead: it only waits for its new
// parent, which need not be us, to reap it).
int living_members(long pgid) {
  int living = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    if (!std::isdigit(static_cast<unsigned char>(entry.path().filename().string()[0]))) continue;
    std::ifstream in(entry.path() / "stat");
    std::string line;
    ProcessStat stat;
    if (std::getline(in, line) && parse_stat(line, stat) && stat.pgrp == pgid && stat.state != 'Z') ++living;
  }
  return living;
}

bool group_gone_within(long pgid, std::chrono::seconds limit) {
  const auto until = Clock::now() + limit;
  while (living_members(pgid) > 0) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// Restores a signal's disposition at the end of a test.
class SignalDisposition {
 public:
  SignalDisposition(int signal, sighandler_t handler) : signal_(signal), previous_(::signal(signal, handler)) {}
  ~SignalDisposition() { ::signal(signal_, previous_); }
  SignalDisposition(const SignalDisposition&) = delete;
  SignalDisposition& operator=(const SignalDisposition&) = delete;

 private:
  int signal_;
  sighandler_t previous_;
};

// A field of /proc/<pid>/status as printed by grep in the child ("SigIgn:\t0000000000001000").
unsigned long long signal_field(const std::string& grep_output) {
  const auto tab = grep_output.find('\t');
  return std::stoull(grep_output.substr(tab + 1), nullptr, 16);
}

TEST(CommandRunner, ReportsExitStatuses) {
  for (int status : {0, 1, 75, 77}) {
    const auto result = run(shell("exit " + std::to_string(status)));
    EXPECT_EQ(result.end, End::Exited) << status;
    EXPECT_EQ(result.status, status);
    EXPECT_TRUE(result.problem.empty());
  }
}

TEST(CommandRunner, CollectsStdoutAndStderrApart) {
  const auto result = run(shell("echo out; echo err >&2; echo more"));
  EXPECT_EQ(result.end, End::Exited);
  EXPECT_EQ(result.output, "out\nmore\n");
  EXPECT_EQ(result.error_output, "err\n");
}

TEST(CommandRunner, EchoesStdinThroughCat) {
  const std::string input = "Subject: hello\r\n\r\nbody\r\n";
  const auto result = run(spec_of({"/bin/cat"}), input);
  EXPECT_EQ(result.end, End::Exited);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.output, input);
}

TEST(CommandRunner, EmptyInputIsAnImmediateEndOfFile) {
  const auto result = run(spec_of({"/bin/cat"}));
  EXPECT_EQ(result.end, End::Exited);
  EXPECT_EQ(result.output, "");
}

// cat writes back while we still feed it: only a loop that reads and writes at once gets through
// pipes of 64 KiB each way.
TEST(CommandRunner, EchoesMegabytesWithoutDeadlock) {
  const std::string input = pattern(8 * 1024 * 1024 + 12345);
  const auto started = Clock::now();
  const auto result = run(spec_of({"/bin/cat"}, 60s), input);
  EXPECT_EQ(result.end, End::Exited);
  EXPECT_EQ(result.output.size(), input.size());
  EXPECT_TRUE(result.output == input);
  EXPECT_LT(Clock::now() - started, 50s);
}

TEST(CommandRunner, TakesInputInManySmallPieces) {
  const std::string input = pattern(300000);
  std::size_t given = 0;
  int calls = 0;
  const auto result = run_command(spec_of({"/bin/cat"}), [&](char* data, std::size_t size) {
    ++calls;
    const std::size_t n = std::min({size, std::size_t{1000}, input.size() - given});
    std::copy_n(input.data() + given, n, data);
    given += n;
    return n;
  });
  EXPECT_EQ(result.end, End::Exited);
  EXPECT_TRUE(result.output == input);
  EXPECT_EQ(calls, 301);  // 300 pieces, then the 0 that ends the input
}

TEST(CommandRunner, ProgramThatExitsWithoutReadingStdinDoesNotHang) {
  const auto started = Clock::now();
  const auto result = run(spec_of({"/bin/true"}), pattern(8 * 1024 * 1024));
  EXPECT_EQ(result.end, End::Exited);
  EXPECT_EQ(result.status, 0);
  EXPECT_LT(Clock::now() - started, 15s);
}

TEST(CommandRunner, ProgramThatClosesStdinEarlyGetsNoMore) {
  // Reads one line, closes stdin, keeps running a little, then answers.
  const auto result =
      run(shell("read first; exec 0<&-; /bin/sleep 0.2; echo \"got $first\"; exit 3"), "line one\n" + pattern(4 << 20));
  EXPECT_EQ(result.end, End::Exited);
  EXPECT_EQ(result.status, 3);
  EXPECT_EQ(result.output, "got line one\n");
}

TEST(CommandRunner, TimesOutAndKillsTheWholeGroup) {
  // The shell prints its pid (the group's id), then waits on one sleep while another runs in the
  // background: both hold stdout, so only the kill can end this.
  const auto started = Clock::now();
  const auto result = run(shell("/bin/sleep 100 & echo $$; /bin/sleep 100", 1s), pattern(1 << 20));
  const auto took = Clock::now() - started;
  EXPECT_EQ(result.end, End::TimedOut);
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 20s);
  ASSERT_FALSE(result.output.empty());
  const long pgid = std::stol(result.output);
  EXPECT_TRUE(group_gone_within(pgid, 10s)) << "processes of group " << pgid << " still run";
}

TEST(CommandRunner, TimesOutWhenABackgroundProcessKeepsStdoutOpen) {
  const auto started = Clock::now();
  const auto result = run(shell("/bin/sleep 100 & echo $$", 1s));
  EXPECT_EQ(result.end, End::TimedOut);
  EXPECT_LT(Clock::now() - started, 20s);
  EXPECT_TRUE(group_gone_within(std::stol(result.output), 10s));
}

TEST(CommandRunner, TimesOutWaitingForAProgramThatClosedItsOutput) {
  const auto started = Clock::now();
  const auto result = run(shell("exec >&- 2>&-; /bin/sleep 100", 1s));
  EXPECT_EQ(result.end, End::TimedOut);
  EXPECT_LT(Clock::now() - started, 20s);
}

TEST(CommandRunner, OutputOneByteOverTheLimitKillsTheGroup) {
  // A background process holds stdout too: only killing the group ends it.
  auto spec = shell("/bin/sleep 100 & echo $$; /usr/bin/head -c 999 /dev/zero; wait");
  spec.max_output = 1000;  // the pid line and 999 bytes are more
  const auto started = Clock::now();
  const auto result = run(spec);
  EXPECT_EQ(result.end, End::OutputTooLarge);
  EXPECT_EQ(result.output.size(), 1000u);
  EXPECT_LT(Clock::now() - started, 15s);
  EXPECT_TRUE(group_gone_within(std::stol(result.output), 10s));
}

TEST(CommandRunner, OutputSinkTakesAllOfStdoutAndTheResultOnlyItsHead) {
  const std::string input = pattern(3 * 1024 * 1024 + 7);
  std::string sunk;
  auto spec = spec_of({"/bin/cat"}, 60s);
  spec.output_sink = [&](std::string_view piece) { sunk.append(piece); };
  const auto result = run(spec, input);
  EXPECT_EQ(result.end, End::Exited);
  EXPECT_TRUE(sunk == input);
  EXPECT_EQ(result.output, input.substr(0, kOutputHead));
}

TEST(CommandRunner, OutputSinkStillHasTheOutputLimit) {
  std::size_t sunk = 0;
  auto spec = shell("/usr/bin/head -c 5000 /dev/zero; /bin/sleep 100");
  spec.max_output = 4096;
  spec.output_sink = [&](std::string_view piece) { sunk += piece.size(); };
  const auto result = run(spec);
  EXPECT_EQ(result.end, End::OutputTooLarge);
  EXPECT_EQ(sunk, 4096u);
  EXPECT_EQ(result.output.size(), kOutputHead);
}

TEST(CommandRunner, OutputSinkThatThrowsKillsTheProgramAndPropagates) {
  auto spec = shell("echo first; /bin/sleep 100");
  spec.output_sink = [](std::string_view) { throw std::runtime_error("disk full"); };
  const auto started = Clock::now();
  EXPECT_THROW(run(spec), std::runtime_error);
  EXPECT_LT(Clock::now() - started, 15s);
}

TEST(CommandRunner, OutputExactlyAtTheLimitIsKept) {
  auto spec = shell("/usr/bin/head -c 1000 /dev/zero");
  spec.max_output = 1000;
  const auto result = run(spec);
  EXPECT_EQ(result.end, End::Exited);
  EXPECT_EQ(result.output, std::string(1000, '\0'));

  auto silent = shell("true");
  silent.max_output = 0;
  EXPECT_EQ(run(silent).end, End::Exited);
  auto one_byte = shell("printf x");
  one_byte.max_output = 0;
  EXPECT_EQ(run(one_byte).end, End::OutputTooLarge);
}

TEST(CommandRunner, HugeStderrIsBoundedAndNeverBlocksTheProgram) {
  auto spec = shell("/usr/bin/head -c 10000000 /dev/zero >&2; echo done");
  spec.max_error_output = 4096;
  const auto result = run(spec);
  EXPECT_EQ(result.end, End::Exited);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.output, "done\n");
  EXPECT_EQ(result.error_output, std::string(4096, '\0'));
}

TEST(CommandRunner, ReportsTheSignalThatEndedIt) {
  const auto result = run(shell("kill -TERM $$; /bin/sleep 5"));
  EXPECT_EQ(result.end, End::Signaled);
  EXPECT_EQ(result.status, SIGTERM);
}

TEST(CommandRunner, MissingProgramIsNotStarted) {
  const auto result = run(spec_of({"/nonexistent/postern-handler", "arg"}));
  EXPECT_EQ(result.end, End::NotStarted);
  EXPECT_EQ(result.problem, "/nonexistent/postern-handler: No such file or directory");
}

TEST(CommandRunner, ProgramThatIsNotExecutableIsNotStarted) {
  const auto result = run(spec_of({"/etc/passwd"}));
  EXPECT_EQ(result.end, End::NotStarted);
  EXPECT_EQ(result.problem, "/etc/passwd: Permission denied");
}

TEST(CommandRunner, MissingWorkingDirectoryIsNotStarted) {
  auto spec = spec_of({"/bin/true"});
  spec.working_directory = "/nonexistent/postern-spool";
  const auto result = run(spec);
  EXPECT_EQ(result.end, End::NotStarted);
  EXPECT_EQ(result.problem, "working directory /nonexistent/postern-spool: No such file or directory");
}

TEST(CommandRunner, ProgramMustBeAnAbsolutePath) {
  auto result = run(spec_of({"true"}));
  EXPECT_EQ(result.end, End::NotStarted);
  EXPECT_EQ(result.problem, "true: not an absolute path");
  result = run(spec_of({}));
  EXPECT_EQ(result.end, End::NotStarted);
  EXPECT_EQ(result.problem, "no program given");
}

TEST(CommandRunner, EnvironmentIsExactlyTheGivenOne) {
  ASSERT_EQ(::setenv("POSTERN_TEST_INHERITED", "leak", 1), 0);
  auto spec = spec_of({"/usr/bin/env"});
  spec.environment = {"POSTERN_SENDER=alice@example.com", "POSTERN_RECIPIENTS=bob@example.org,carol@example.net",
                      "SPACED=two words"};
  auto result = run(spec);
  EXPECT_EQ(result.end, End::Exited);
  EXPECT_EQ(result.output,
            "POSTERN_SENDER=alice@example.com\nPOSTERN_RECIPIENTS=bob@example.org,carol@example.net\n"
            "SPACED=two words\n");

  spec.environment.clear();
  result = run(spec);
  EXPECT_EQ(result.end, End::Exited);
  EXPECT_EQ(result.output, "");
  ::unsetenv("POSTERN_TEST_INHERITED");
}

TEST(CommandRunner, RunsInTheWorkingDirectory) {
  std::string folder = (std::filesystem::temp_directory_path() / "postern-command-XXXXXX").string();
  ASSERT_NE(::mkdtemp(folder.data()), nullptr);
  auto spec = spec_of({"/bin/pwd", "-P"});
  spec.working_directory = folder;
  auto result = run(spec);
  EXPECT_EQ(result.end, End::Exited);
  EXPECT_EQ(result.output, std::filesystem::canonical(folder).string() + "\n");
  std::filesystem::remove(folder);

  spec.working_directory.clear();
  result = run(spec);
  EXPECT_EQ(result.output, "/\n");
}

TEST(CommandRunner, ProgramStartsWithDefaultSignalsAndNoneBlocked) {
  // As in the relay: SIGPIPE and (here) SIGINT ignored, SIGHUP handled; SIGUSR1 blocked in this
  // thread. An ignored signal would stay ignored across exec, a blocked one blocked.
  const SignalDisposition ignore_pipe(SIGPIPE, SIG_IGN);
  const SignalDisposition ignore_interrupt(SIGINT, SIG_IGN);
  const SignalDisposition handle_hangup(SIGHUP, [](int) {});
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigset_t previous;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &usr1, &previous), 0);

  const auto ignored = run(spec_of({"/bin/grep", "^SigIgn:", "/proc/self/status"}));
  const auto blocked = run(spec_of({"/bin/grep", "^SigBlk:", "/proc/self/status"}));
  sigset_t after;
  pthread_sigmask(SIG_SETMASK, &previous, &after);

  ASSERT_EQ(ignored.end, End::Exited) << ignored.error_output;
  // Signals 1 to 31. glibc's posix_spawn itself leaves its two internal signals (32 and 33, below
  // SIGRTMIN, which no program sees) ignored.
  EXPECT_EQ(signal_field(ignored.output) & 0x7fffffffULL, 0u) << ignored.output;
  ASSERT_EQ(blocked.end, End::Exited) << blocked.error_output;
  EXPECT_EQ(signal_field(blocked.output), 0u) << blocked.output;
  // run_command gave this thread's mask back as it found it (SIGPIPE not left blocked).
  EXPECT_EQ(sigismember(&after, SIGPIPE), sigismember(&previous, SIGPIPE));
}

TEST(CommandRunner, ProgramGetsItsOwnProcessGroup) {
  const auto result = run(spec_of({"/bin/cat", "/proc/self/stat"}));
  ASSERT_EQ(result.end, End::Exited) << result.error_output;
  ProcessStat stat;
  ASSERT_TRUE(parse_stat(result.output, stat)) << result.output;
  EXPECT_EQ(stat.pgrp, std::stol(result.output));  // the group's id is its own pid
  EXPECT_NE(stat.pgrp, static_cast<long>(::getpgrp()));
}

TEST(CommandRunner, InheritsNoDescriptors) {
  // Descriptors this process holds without O_CLOEXEC, as a careless library would.
  const int file = ::open("/dev/null", O_RDONLY);
  int sockets[2];
  ASSERT_GE(file, 0);
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sockets), 0);

  const auto result = run(spec_of({"/bin/ls", "/proc/self/fd"}));
  ::close(file);
  ::close(sockets[0]);
  ::close(sockets[1]);
  ASSERT_EQ(result.end, End::Exited) << result.error_output;
  std::set<std::string> listed;
  std::istringstream lines(result.output);
  for (std::string line; std::getline(lines, line);) listed.insert(line);
  // 0, 1, 2 and the one ls opened to read the directory.
  ASSERT_EQ(listed.size(), 4u) << result.output;
  EXPECT_TRUE(listed.count("0") && listed.count("1") && listed.count("2")) << result.output;
}

TEST(CommandRunner, InputThatThrowsKillsTheProgramAndPropagates) {
  const auto started = Clock::now();
  EXPECT_THROW(run_command(shell("/bin/sleep 100"),
                           [](char*, std::size_t) -> std::size_t { throw std::runtime_error("spool unreadable"); }),
               std::runtime_error);
  EXPECT_LT(Clock::now() - started, 15s);
}

TEST(CommandRunner, SeveralThreadsRunCommandsAtOnce) {
  constexpr int kThreads = 6;
  constexpr int kRuns = 15;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &failures] {
      for (int i = 0; i < kRuns; ++i) {
        const std::string input = std::to_string(t) + ":" + std::to_string(i) + ":" + pattern(100000 + t * 1000 + i);
        const auto result = run(spec_of({"/bin/cat"}), input);
        if (result.end != End::Exited || result.status != 0 || result.output != input) ++failures[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace postern
