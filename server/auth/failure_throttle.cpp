// See failure_throttle.hpp.
#include "server/auth/failure_throttle.hpp"

#include <algorithm>

namespace postern::auth {

std::size_t FailureThrottle::recent(std::unordered_map<std::string, Failures>& table,
                                    const std::string& key, Clock::time_point now) {
  auto it = table.find(key);
  if (it == table.end()) return 0;
  auto& failures = it->second;
  while (!failures.empty() && now - failures.front() > limits_.window) failures.pop_front();
  if (failures.empty()) {
    table.erase(it);
    return 0;
  }
  return failures.size();
}

// Keeps memory bounded under a spray of distinct addresses or names.
void FailureThrottle::forget_old(Clock::time_point now) {
  if (now - last_sweep_ < limits_.window) return;
  last_sweep_ = now;
  for (auto* table : {&by_address_, &by_user_}) {
    std::erase_if(*table, [&](const auto& entry) {
      return entry.second.empty() || now - entry.second.back() > limits_.window;
    });
  }
}

bool FailureThrottle::blocked(const std::string& address, const std::string& user,
                              Clock::time_point now) {
  std::lock_guard lock{mutex_};
  return recent(by_address_, address, now) >= limits_.per_address ||
         (!user.empty() && recent(by_user_, user, now) >= limits_.per_user);
}

std::chrono::milliseconds FailureThrottle::record_failure(const std::string& address,
                                                          const std::string& user,
                                                          Clock::time_point now) {
  std::lock_guard lock{mutex_};
  forget_old(now);
  by_address_[address].push_back(now);
  if (!user.empty()) by_user_[user].push_back(now);
  auto count = std::max(recent(by_address_, address, now), user.empty() ? 0 : recent(by_user_, user, now));
  // Linear growth: the first failure (a typo) costs one base delay.
  auto delay = limits_.base_delay * static_cast<long>(count);
  return std::min(delay, limits_.max_delay);
}

void FailureThrottle::record_success(const std::string& user) {
  std::lock_guard lock{mutex_};
  by_user_.erase(user);
}

}  // namespace postern::auth
