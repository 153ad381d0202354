// Connection limits, in total and per client address. acquire() hands out a Slot that gives
// its place back when destroyed, so every exit path of a session releases it.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace postern::net {

class ConnectionLimiter {
 public:
  class Slot {
   public:
    Slot(ConnectionLimiter* owner, std::string address) : owner_(owner), address_(std::move(address)) {}
    Slot(Slot&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)), address_(std::move(other.address_)) {}
    Slot& operator=(Slot&&) = delete;
    ~Slot() { if (owner_) owner_->release(address_); }

   private:
    ConnectionLimiter* owner_;
    std::string address_;
  };

  ConnectionLimiter(std::size_t max_total, std::size_t max_per_address)
      : max_total_(max_total), max_per_address_(max_per_address) {}

  // nullopt when the server or this address is at its limit.
  std::optional<Slot> acquire(const std::string& address);

  std::size_t open() const;

  // A reload: later acquires count against the new limits; slots held are kept, also those over them.
  void set_limits(std::size_t max_total, std::size_t max_per_address);

 private:
  void release(const std::string& address);

  std::size_t max_total_;
  std::size_t max_per_address_;
  mutable std::mutex mutex_;
  std::size_t total_ = 0;
  std::unordered_map<std::string, std::size_t> per_address_;
};

}  // namespace postern::net
