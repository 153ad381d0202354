// See socket_watchdog.hpp.
#include "server/delivery/socket_watchdog.hpp"

#include <sys/socket.h>

namespace postern::delivery {

bool SocketWatchdog::Watch::end() {
  if (watchdog_ != nullptr) {
    expired_ = watchdog_->forget(id_);
    watchdog_ = nullptr;
  }
  return expired_;
}

SocketWatchdog::SocketWatchdog() : thread_([this] { run(); }) {}

SocketWatchdog::~SocketWatchdog() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

SocketWatchdog::Watch SocketWatchdog::watch(int fd, Clock::time_point deadline) {
  std::uint64_t id = 0;
  {
    std::lock_guard lock{mutex_};
    id = next_id_++;
    entries_.emplace(id, Entry{fd, deadline});
  }
  wake_.notify_all();  // the new deadline may be the earliest
  return Watch{*this, id};
}

bool SocketWatchdog::forget(std::uint64_t id) {
  std::lock_guard lock{mutex_};
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  const bool expired = it->second.expired;
  entries_.erase(it);
  return expired;
}

void SocketWatchdog::run() {
  std::unique_lock lock{mutex_};
  while (!stopping_) {
    auto next = Clock::time_point::max();
    const auto now = Clock::now();
    for (auto& [id, entry] : entries_) {
      if (entry.expired) continue;
      if (entry.deadline <= now) {
        // Under the lock: the watch cannot end, so its socket is still open.
        ::shutdown(entry.fd, SHUT_RDWR);
        entry.expired = true;
      } else if (entry.deadline < next) {
        next = entry.deadline;
      }
    }
    if (next == Clock::time_point::max()) {
      wake_.wait(lock);
    } else {
      wake_.wait_until(lock, next);
    }
  }
}

}  // namespace postern::delivery
