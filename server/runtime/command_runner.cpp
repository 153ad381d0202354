// See command_runner.hpp.
#include "server/runtime/command_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

namespace postern {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Bytes moved per read() or write(): a pipe's default capacity.
constexpr std::size_t kPiece = 64 * 1024;

std::string error_text(int error) { return std::generic_category().message(error); }

[[noreturn]] void fail(int error, const char* what) { throw std::system_error(error, std::generic_category(), what); }

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  // Linux frees the descriptor even when close() is interrupted: never retried.
  void reset() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

// The pipe ends stay above 0, 1 and 2 (which are free when this process runs with a closed
// stdio), so that the child's dup2 onto 0..2 never overwrites another pipe end first.
int above_stdio(int fd) {
  if (fd > 2) return fd;
  const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  const int error = errno;
  ::close(fd);
  errno = error;
  return moved;
}

// 0, or errno. Both ends close on exec: another thread's spawn never inherits them.
int make_pipe(Pipe& pipe) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) return errno;
  pipe.read = Fd(above_stdio(ends[0]));
  pipe.write = Fd(above_stdio(ends[1]));
  if (!pipe.read.open() || !pipe.write.open()) return errno;
  return 0;
}

void set_nonblocking(const Fd& fd) {
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) fail(errno, "fcntl(O_NONBLOCK)");
}

// Milliseconds left until `deadline`, rounded up (so a poll never spins on a fraction); 0 once
// it has passed.
int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  if (left <= 0ms) return 0;
  return static_cast<int>(std::min<std::chrono::milliseconds::rep>(left.count(), INT_MAX));
}

// Writing to a pipe whose reader has gone raises SIGPIPE in the writing thread. This thread keeps
// it blocked while the command runs and takes away the one its own write raised, so the process's
// disposition of SIGPIPE never matters. The child starts with its own, empty, mask.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&sigpipe_);
    sigaddset(&sigpipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigpipe_, &previous_mask_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeGuard() {
    if (raised_ && !was_pending_) {
      const timespec now{};
      while (sigtimedwait(&sigpipe_, nullptr, &now) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;
  void raised() { raised_ = true; }

 private:
  sigset_t sigpipe_;
  sigset_t previous_mask_;
  bool was_pending_ = false;
  bool raised_ = false;
};

// The started program. Until it is reaped, leaving this scope (an exception) kills its group and
// reaps it, so no path leaves a process or a zombie behind.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  ~Child() {
    if (pid_ <= 0) return;
    kill_group();
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // The group's id is the child's pid (POSIX_SPAWN_SETPGROUP with 0). Called only before the
  // child is reaped, so that id cannot belong to anyone else yet.
  void kill_group() const { ::kill(-pid_, SIGKILL); }

  // Waits for the exit; the wait status.
  int reap() {
    int status;
    while (::waitpid(pid_, &status, 0) < 0) {
      if (errno != EINTR) fail(errno, "waitpid");
    }
    pid_ = -1;
    return status;
  }

  // The wait status if it exits before `deadline`; nullopt if it is still running then. Waits on
  // a pidfd; where the kernel has none (Linux < 5.3), polls every 10 ms.
  std::optional<int> wait_until(Clock::time_point deadline) {
    const Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
    for (;;) {
      if (auto status = try_reap()) return status;
      const int wait = remaining_ms(deadline);
      if (wait == 0) return std::nullopt;
      pollfd exited{pidfd.get(), POLLIN, 0};
      if (!pidfd.open() || (::poll(&exited, 1, wait) < 0 && errno != EINTR)) {
        std::this_thread::sleep_for(std::min(std::chrono::milliseconds(wait), 10ms));
      }
    }
  }

 private:
  std::optional<int> try_reap() {
    int status;
    for (;;) {
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        pid_ = -1;
        return status;
      }
      if (done == 0) return std::nullopt;
      if (errno != EINTR) fail(errno, "waitpid");
    }
  }

  pid_t pid_;
};

// The posix_spawn attributes and file actions, freed on every path.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawnattr_init(&attributes_);
    posix_spawn_file_actions_init(&actions_);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attributes_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  // 0, or the errno of the first step that failed.
  int prepare(const Fd& stdin_end, const Fd& stdout_end, const Fd& stderr_end, const std::string& directory) {
    // Every signal back to its default: the relay ignores SIGPIPE and handles SIGTERM, SIGINT and
    // SIGHUP, and an ignored signal would stay ignored across exec. Nothing blocked either.
    sigset_t all;
    sigfillset(&all);
    sigset_t none;
    sigemptyset(&none);
    const short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (int e = posix_spawnattr_setflags(&attributes_, flags)) return e;
    if (int e = posix_spawnattr_setpgroup(&attributes_, 0)) return e;
    if (int e = posix_spawnattr_setsigmask(&attributes_, &none)) return e;
    if (int e = posix_spawnattr_setsigdefault(&attributes_, &all)) return e;

    if (int e = posix_spawn_file_actions_adddup2(&actions_, stdin_end.get(), STDIN_FILENO)) return e;
    if (int e = posix_spawn_file_actions_adddup2(&actions_, stdout_end.get(), STDOUT_FILENO)) return e;
    if (int e = posix_spawn_file_actions_adddup2(&actions_, stderr_end.get(), STDERR_FILENO)) return e;
    if (int e = posix_spawn_file_actions_addchdir_np(&actions_, directory.c_str())) return e;
    // Descriptors opened without O_CLOEXEC (by a library, say) must not reach the program either.
    return posix_spawn_file_actions_addclosefrom_np(&actions_, STDERR_FILENO + 1);
  }

  // 0, or the errno of the spawn (glibc reports a failed file action or exec here too).
  int spawn(pid_t& pid, const CommandSpec& spec) const {
    std::vector<char*> argv;
    argv.reserve(spec.argv.size() + 1);
    for (const auto& arg : spec.argv) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(spec.environment.size() + 1);
    for (const auto& variable : spec.environment) envp.push_back(const_cast<char*>(variable.c_str()));
    envp.push_back(nullptr);
    return posix_spawn(&pid, argv[0], &actions_, &attributes_, argv.data(), envp.data());
  }

 private:
  posix_spawnattr_t attributes_;
  posix_spawn_file_actions_t actions_;
};

// A failed spawn's errno does not say whether the chdir or the exec failed (ENOENT for either):
// a working directory we cannot enter is named, else the program.
std::string spawn_problem(const std::string& program, const std::string& directory, int error) {
  struct stat info;
  if (::stat(directory.c_str(), &info) != 0) return "working directory " + directory + ": " + error_text(errno);
  if (!S_ISDIR(info.st_mode)) return "working directory " + directory + ": " + error_text(ENOTDIR);
  if (::access(directory.c_str(), X_OK) != 0) return "working directory " + directory + ": " + error_text(errno);
  return program + ": " + error_text(error);
}

CommandResult not_started(std::string problem) {
  CommandResult result;
  result.end = CommandResult::End::NotStarted;
  result.problem = std::move(problem);
  return result;
}

CommandResult::End end_of(int wait_status, int& status) {
  if (WIFSIGNALED(wait_status)) {
    status = WTERMSIG(wait_status);
    return CommandResult::End::Signaled;
  }
  status = WEXITSTATUS(wait_status);
  return CommandResult::End::Exited;
}

// True at end of file (or a read error, which ends the stream just the same).
bool read_some(const Fd& fd, std::vector<char>& scratch, std::size_t& got) {
  for (;;) {
    const ssize_t n = ::read(fd.get(), scratch.data(), scratch.size());
    if (n > 0) {
      got = static_cast<std::size_t>(n);
      return false;
    }
    got = 0;
    if (n < 0 && errno == EINTR) continue;
    return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
  }
}

}  // namespace

CommandResult run_command(const CommandSpec& spec, const std::function<std::size_t(char*, std::size_t)>& input) {
  if (spec.argv.empty()) return not_started("no program given");
  const std::string& program = spec.argv[0];
  if (program.empty() || program.front() != '/') return not_started(program + ": not an absolute path");
  const std::string directory = spec.working_directory.empty() ? "/" : spec.working_directory;

  Pipe to_stdin, from_stdout, from_stderr;
  for (Pipe* each : {&to_stdin, &from_stdout, &from_stderr}) {
    if (int error = make_pipe(*each)) return not_started("cannot create a pipe: " + error_text(error));
  }
  SpawnSetup setup;
  if (int error = setup.prepare(to_stdin.read, from_stdout.write, from_stderr.write, directory)) {
    return not_started("cannot prepare the spawn: " + error_text(error));
  }

  SigpipeGuard sigpipe;
  const auto deadline = Clock::now() + spec.timeout;
  pid_t pid = -1;
  if (int error = setup.spawn(pid, spec)) return not_started(spawn_problem(program, directory, error));
  Child child(pid);
  // Only the child holds these ends now: its exit (or closing them) is our EOF or EPIPE.
  to_stdin.read.reset();
  from_stdout.write.reset();
  from_stderr.write.reset();
  Fd& stdin_fd = to_stdin.write;
  Fd& stdout_fd = from_stdout.read;
  Fd& stderr_fd = from_stderr.read;
  for (const Fd* fd : {&stdin_fd, &stdout_fd, &stderr_fd}) set_nonblocking(*fd);

  CommandResult result;
  std::vector<char> piece(kPiece);  // input not yet written: [piece_begin, piece_end)
  std::size_t piece_begin = 0;
  std::size_t piece_end = 0;
  std::vector<char> scratch(kPiece);
  std::optional<CommandResult::End> killed;  // TimedOut or OutputTooLarge
  std::size_t output_size = 0;  // stdout bytes taken, of at most spec.max_output

  while (!killed) {
    if (stdin_fd.open() && piece_begin == piece_end) {
      piece_begin = 0;
      piece_end = input(piece.data(), piece.size());
      if (piece_end == 0) stdin_fd.reset();  // all given: the program sees EOF
    }
    if (!stdin_fd.open() && !stdout_fd.open() && !stderr_fd.open()) break;

    const int wait = remaining_ms(deadline);
    if (wait == 0) {
      killed = CommandResult::End::TimedOut;
      break;
    }
    // Closed descriptors are -1, which poll() skips.
    std::array<pollfd, 3> fds{
        {{stdin_fd.get(), POLLOUT, 0}, {stdout_fd.get(), POLLIN, 0}, {stderr_fd.get(), POLLIN, 0}}};
    if (::poll(fds.data(), fds.size(), wait) < 0) {
      if (errno == EINTR) continue;
      fail(errno, "poll");
    }

    if (fds[0].revents != 0) {
      const ssize_t n = ::write(stdin_fd.get(), piece.data() + piece_begin, piece_end - piece_begin);
      if (n >= 0) {
        piece_begin += static_cast<std::size_t>(n);
      } else if (errno == EPIPE) {
        // The program wants no more input (or has exited): not an error, just stop feeding it.
        sigpipe.raised();
        stdin_fd.reset();
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        stdin_fd.reset();
      }
    }
    if (fds[1].revents != 0) {
      std::size_t got;
      if (read_some(stdout_fd, scratch, got)) stdout_fd.reset();
      const std::size_t room = spec.max_output - output_size;
      const std::size_t kept = std::min(got, room);
      output_size += kept;
      if (spec.output_sink) {
        if (result.output.size() < kOutputHead) {
          result.output.append(scratch.data(), std::min(kept, kOutputHead - result.output.size()));
        }
        if (kept > 0) spec.output_sink(std::string_view(scratch.data(), kept));
      } else {
        result.output.append(scratch.data(), kept);
      }
      if (got > room) killed = CommandResult::End::OutputTooLarge;
    }
    if (fds[2].revents != 0) {
      std::size_t got;
      if (read_some(stderr_fd, scratch, got)) stderr_fd.reset();
      const std::size_t room = spec.max_error_output - result.error_output.size();
      result.error_output.append(scratch.data(), std::min(got, room));  // the rest is dropped
    }
  }

  if (!killed) {
    if (auto wait_status = child.wait_until(deadline)) {
      result.end = end_of(*wait_status, result.status);
      return result;
    }
    killed = CommandResult::End::TimedOut;
  }
  child.kill_group();
  child.reap();
  result.end = *killed;
  return result;
}

}  // namespace postern
