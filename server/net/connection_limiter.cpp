// See connection_limiter.hpp.
#include "server/net/connection_limiter.hpp"

namespace postern::net {

std::optional<ConnectionLimiter::Slot> ConnectionLimiter::acquire(const std::string& address) {
  std::lock_guard lock{mutex_};
  auto& mine = per_address_[address];
  if (total_ >= max_total_ || mine >= max_per_address_) {
    if (mine == 0) per_address_.erase(address);
    return std::nullopt;
  }
  ++total_;
  ++mine;
  return Slot{this, address};
}

void ConnectionLimiter::release(const std::string& address) {
  std::lock_guard lock{mutex_};
  --total_;
  auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

void ConnectionLimiter::set_limits(std::size_t max_total, std::size_t max_per_address) {
  std::lock_guard lock{mutex_};
  max_total_ = max_total;
  max_per_address_ = max_per_address;
}

std::size_t ConnectionLimiter::open() const {
  std::lock_guard lock{mutex_};
  return total_;
}

}  // namespace postern::net
