// See session_registry.hpp.
#include "server/net/session_registry.hpp"

#include <vector>

namespace postern::net {

SessionRegistry::Handle SessionRegistry::add(std::function<void()> abort) {
  std::lock_guard lock{mutex_};
  auto id = next_id_++;
  sessions_.emplace(id, std::move(abort));
  return Handle{this, id};
}

std::size_t SessionRegistry::size() const {
  std::lock_guard lock{mutex_};
  return sessions_.size();
}

void SessionRegistry::abort_all() {
  std::vector<std::function<void()>> actions;
  {
    std::lock_guard lock{mutex_};
    for (auto& [id, abort] : sessions_) actions.push_back(abort);
  }
  for (auto& abort : actions) abort();
}

void SessionRegistry::on_empty(std::function<void()> callback) {
  std::unique_lock lock{mutex_};
  if (sessions_.empty()) {
    lock.unlock();
    callback();
    return;
  }
  on_empty_ = std::move(callback);
}

void SessionRegistry::remove(std::uint64_t id) {
  std::function<void()> callback;
  {
    std::lock_guard lock{mutex_};
    sessions_.erase(id);
    if (sessions_.empty()) callback = std::exchange(on_empty_, nullptr);
  }
  if (callback) callback();
}

}  // namespace postern::net
