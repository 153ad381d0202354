// Brute-force brake for AUTH: counts failed attempts per client address and per user name in a
// sliding window. Each failure delays its reply a little longer; past the limit the session is
// refused with 421 before any password is checked. Thread-safe; the clock is passed in so the
// rules are unit-tested without sleeping.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace postern::auth {

class FailureThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  struct Limits {
    unsigned per_address = 10;
    unsigned per_user = 10;
    std::chrono::seconds window{900};
    std::chrono::milliseconds base_delay{1000};
    std::chrono::milliseconds max_delay{10000};
  };

  explicit FailureThrottle(Limits limits) : limits_(limits) {}

  // True when this address or user name already failed too often: refuse without checking.
  bool blocked(const std::string& address, const std::string& user, Clock::time_point now);

  // Records a failure; returns how long to wait before replying.
  std::chrono::milliseconds record_failure(const std::string& address, const std::string& user,
                                           Clock::time_point now);

  // A success clears the user's failures (an address keeps its record: one attacker may own
  // one valid account).
  void record_success(const std::string& user);

 private:
  using Failures = std::deque<Clock::time_point>;
  std::size_t recent(std::unordered_map<std::string, Failures>& table, const std::string& key,
                     Clock::time_point now);
  void forget_old(Clock::time_point now);

  Limits limits_;
  std::mutex mutex_;
  std::unordered_map<std::string, Failures> by_address_;
  std::unordered_map<std::string, Failures> by_user_;
  Clock::time_point last_sweep_{};
};

}  // namespace postern::auth
