#include <gtest/gtest.h>

#include "server/delivery/socket_watchdog.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

namespace postern::delivery {
namespace {

using Clock = SocketWatchdog::Clock;
using std::chrono::milliseconds;

// A connected pair of stream sockets, closed at the end of the test.
struct SocketPair {
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }
  ~SocketPair() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  int fds[2] = {-1, -1};
};

TEST(SocketWatchdog, EndsAWriteThatNobodyReadsAtItsDeadline) {
  SocketPair pair;
  const int small = 4096;
  ::setsockopt(pair.fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  SocketWatchdog watchdog;
  const std::string chunk(64 * 1024, 'x');
  const auto started = Clock::now();
  SocketWatchdog::Watch watch = watchdog.watch(pair.fds[0], started + milliseconds(200));
  ssize_t written = 0;
  for (int i = 0; i < 1000 && written >= 0; ++i) {  // blocks once the buffers are full
    written = ::send(pair.fds[0], chunk.data(), chunk.size(), MSG_NOSIGNAL);
  }
  const int error = errno;
  EXPECT_LT(written, 0);
  EXPECT_EQ(error, EPIPE);
  EXPECT_TRUE(watch.end());
  EXPECT_GE(Clock::now() - started, milliseconds(200));
  EXPECT_LT(Clock::now() - started, milliseconds(5000));
}

TEST(SocketWatchdog, LeavesASocketAloneWhenTheWatchEndsInTime) {
  SocketPair pair;
  SocketWatchdog watchdog;
  {
    SocketWatchdog::Watch watch = watchdog.watch(pair.fds[0], Clock::now() + milliseconds(100));
    EXPECT_EQ(::send(pair.fds[0], "a", 1, MSG_NOSIGNAL), 1);
    EXPECT_FALSE(watch.end());
    EXPECT_FALSE(watch.end());  // ending twice says the same
  }
  std::this_thread::sleep_for(milliseconds(300));  // well past the deadline
  EXPECT_EQ(::send(pair.fds[0], "b", 1, MSG_NOSIGNAL), 1);
  char got[2] = {};
  EXPECT_EQ(::recv(pair.fds[1], got, 2, MSG_WAITALL), 2);
  EXPECT_EQ(std::string(got, 2), "ab");
}

TEST(SocketWatchdog, WatchesSeveralSocketsEachToItsOwnDeadline) {
  SocketPair early, late;
  SocketWatchdog watchdog;
  SocketWatchdog::Watch late_watch = watchdog.watch(late.fds[1], Clock::now() + milliseconds(60000));
  SocketWatchdog::Watch early_watch = watchdog.watch(early.fds[1], Clock::now() + milliseconds(100));
  char byte = 0;
  EXPECT_EQ(::recv(early.fds[1], &byte, 1, 0), 0);  // a blocking read ends: the socket was shut down
  EXPECT_TRUE(early_watch.end());
  EXPECT_FALSE(late_watch.end());
  EXPECT_EQ(::send(late.fds[0], "c", 1, MSG_NOSIGNAL), 1);
  EXPECT_EQ(::recv(late.fds[1], &byte, 1, 0), 1);
}

}  // namespace
}  // namespace postern::delivery
