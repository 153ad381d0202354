// A bounded, expiring, per-user cache of what PostgreSQL said about a user (a verified login,
// the user's grants), dropped the moment PostgreSQL says the user changed: the notification
// listener calls invalidate(user) for each change to a user's rows, invalidate_all() for wider
// ones, and set_listening(false) while it cannot hear PostgreSQL, which empties the cache and
// keeps it empty until set_listening(true) (the cache starts so: nothing is cached before the
// listener first connects).
//
// A value read from PostgreSQL may be overtaken by a change before it is stored. So a caller
// takes a ticket before it reads, and store() keeps the value only if nothing was invalidated
// since: a value read before a change is never served after it.
//
//   auto ticket = cache.ticket();
//   if (auto hit = cache.find(user, now)) return *hit;
//   Value value = read_from_postgresql(user);
//   cache.store(user, value, ticket, now);
//
// Thread-safe: the I/O threads look up and store, the listener's thread invalidates.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace postern {

// Taken before a read from PostgreSQL; see store().
struct UserCacheTicket {
  std::uint64_t generation;
};

struct UserCacheLimits {
  std::chrono::seconds ttl{300};  // 0: nothing is cached
  std::size_t max_entries = 100000;

  friend bool operator==(const UserCacheLimits&, const UserCacheLimits&) = default;
};

template <typename Value>
class UserCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Ticket = UserCacheTicket;

  explicit UserCache(UserCacheLimits limits) : limits_(limits) {}

  Ticket ticket() const {
    std::lock_guard lock{mutex_};
    return {generation_};
  }

  std::optional<Value> find(const std::string& user, Clock::time_point now) const {
    std::lock_guard lock{mutex_};
    auto it = entries_.find(user);
    if (it == entries_.end() || it->second.expires <= now) return std::nullopt;
    return it->second.value;
  }

  // Kept for the TTL unless something was invalidated since `ticket`, the listener is not
  // listening, or the TTL is 0. When full, the oldest entry makes room.
  void store(const std::string& user, Value value, Ticket ticket, Clock::time_point now) {
    std::lock_guard lock{mutex_};
    if (!listening_ || ticket.generation != generation_ || limits_.ttl.count() <= 0 || limits_.max_entries == 0) {
      return;
    }
    if (auto it = entries_.find(user); it != entries_.end()) {
      order_.erase(it->second.position);
      entries_.erase(it);
    }
    while (entries_.size() >= limits_.max_entries) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(user);
    entries_.emplace(user, Entry{std::move(value), now + limits_.ttl, std::prev(order_.end())});
  }

  void invalidate(const std::string& user) {
    std::lock_guard lock{mutex_};
    ++generation_;
    if (auto it = entries_.find(user); it != entries_.end()) {
      order_.erase(it->second.position);
      entries_.erase(it);
    }
  }

  void invalidate_all() {
    std::lock_guard lock{mutex_};
    clear();
  }

  void set_listening(bool listening) {
    std::lock_guard lock{mutex_};
    listening_ = listening;
    clear();
  }

  std::size_t size() const {
    std::lock_guard lock{mutex_};
    return entries_.size();
  }

  // A reload: other limits empty the cache (entries kept under the old TTL would outlive it);
  // reads that raced the change are not stored.
  void set_limits(UserCacheLimits limits) {
    std::lock_guard lock{mutex_};
    if (limits == limits_) return;
    limits_ = limits;
    clear();
  }

 private:
  struct Entry {
    Value value;
    Clock::time_point expires;
    std::list<std::string>::iterator position;  // in order_
  };

  void clear() {
    ++generation_;
    entries_.clear();
    order_.clear();
  }

  UserCacheLimits limits_;
  mutable std::mutex mutex_;
  std::uint64_t generation_ = 0;
  bool listening_ = false;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> order_;  // oldest store first
};

}  // namespace postern
