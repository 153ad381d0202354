// Settings that a reload may replace while sessions and deliveries run on other threads. A
// reader takes the current value once, at the start of its session or attempt, and keeps it to
// its end; replace() makes later readers see the new value and never changes a taken one.
//
//   Snapshot<SessionSettings> settings{initial};
//   std::shared_ptr<const SessionSettings> mine = settings.get();   // a session's start
//   settings.replace(next);                                         // a reload
#pragma once

#include <memory>
#include <mutex>
#include <utility>

namespace postern {

template <typename T>
class Snapshot {
 public:
  explicit Snapshot(T initial) : current_(std::make_shared<const T>(std::move(initial))) {}

  std::shared_ptr<const T> get() const {
    std::lock_guard lock{mutex_};
    return current_;
  }

  void replace(T next) {
    std::shared_ptr<const T> made = std::make_shared<const T>(std::move(next));
    std::lock_guard lock{mutex_};
    current_.swap(made);  // the old value is freed outside the lock (made's destructor runs after it)
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const T> current_;
};

}  // namespace postern
