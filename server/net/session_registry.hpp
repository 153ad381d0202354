// The open sessions, so that a shutdown can wait for them and, past the grace period, cut them
// off. Each session registers an abort action (run on the session's own strand) and gets a
// handle that unregisters it when the session ends.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <utility>

namespace postern::net {

class SessionRegistry {
 public:
  class Handle {
   public:
    Handle(SessionRegistry* owner, std::uint64_t id) : owner_(owner), id_(id) {}
    Handle(Handle&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)), id_(other.id_) {}
    Handle& operator=(Handle&&) = delete;
    ~Handle() { if (owner_) owner_->remove(id_); }

   private:
    SessionRegistry* owner_;
    std::uint64_t id_;
  };

  Handle add(std::function<void()> abort);
  std::size_t size() const;
  // Calls every session's abort action.
  void abort_all();
  // Called (once) when the last session ends after drain() was requested.
  void on_empty(std::function<void()> callback);

 private:
  void remove(std::uint64_t id);

  mutable std::mutex mutex_;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, std::function<void()>> sessions_;
  std::function<void()> on_empty_;
};

}  // namespace postern::net
