// A deadline for blocking calls that take none: when a call on a socket overruns its deadline,
// the watchdog shuts the socket down (shutdown(2), both directions), which makes the call fail at
// once. librabbitmq writes a message with no time limit (amqp_basic_publish polls without a
// deadline), so a broker that stops reading — a resource alarm, a dead link — would hold a pool
// thread for good; AmqpConnection watches each publish with this.
//
//   SocketWatchdog watchdog;  // one thread, shared by every connection of a publisher
//   {
//     SocketWatchdog::Watch watch = watchdog.watch(fd, std::chrono::steady_clock::now() + limit);
//     blocking_write(fd);
//     if (watch.end()) ...  // true: the deadline passed and the socket was shut down
//   }
//
// A watch ends (explicitly or when it is destroyed) before its socket is closed, so the watchdog
// never touches a descriptor that has been reused.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

namespace postern::delivery {

class SocketWatchdog {
 public:
  using Clock = std::chrono::steady_clock;

  // One socket under watch until end() or destruction.
  class Watch {
   public:
    Watch(SocketWatchdog& watchdog, std::uint64_t id) : watchdog_(&watchdog), id_(id) {}
    Watch(Watch&& other) noexcept : watchdog_(other.watchdog_), id_(other.id_), expired_(other.expired_) {
      other.watchdog_ = nullptr;
    }
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    Watch& operator=(Watch&&) = delete;
    ~Watch() { end(); }
    // Stops watching. True when the deadline had passed and the socket was shut down.
    bool end();

   private:
    SocketWatchdog* watchdog_;
    std::uint64_t id_;
    bool expired_ = false;
  };

  SocketWatchdog();
  ~SocketWatchdog();
  SocketWatchdog(const SocketWatchdog&) = delete;
  SocketWatchdog& operator=(const SocketWatchdog&) = delete;

  Watch watch(int fd, Clock::time_point deadline);

 private:
  struct Entry {
    int fd;
    Clock::time_point deadline;
    bool expired = false;
  };

  bool forget(std::uint64_t id);
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::uint64_t, Entry> entries_;
  std::uint64_t next_id_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace postern::delivery
