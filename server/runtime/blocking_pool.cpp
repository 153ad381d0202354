// See blocking_pool.hpp.
#include "server/runtime/blocking_pool.hpp"

#include <pqxx/pqxx>

#include <poll.h>

namespace postern {

BlockingContext::BlockingContext(const std::string& database_url, unsigned statement_timeout_seconds,
                                 std::function<void(schema::Store&)> on_connect)
    : url_(database_url),
      statement_timeout_seconds_(statement_timeout_seconds),
      on_connect_(std::move(on_connect)) {}

namespace {

// An idle connection has nothing to read; a readable one was closed by the server (restart,
// failover, idle timeout) and would fail its next statement, so it is replaced before use.
bool closed_by_server(schema::Store& store) {
  int fd = store.connection().sock();
  if (fd < 0) return true;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

}  // namespace

schema::Store& BlockingContext::store() {
  if (store_ && (!store_->is_open() || closed_by_server(*store_))) store_.reset();
  if (!store_) {
    schema::Store fresh{url_};
    try {
      // A statement that hangs must not hold a pool thread forever.
      pqxx::nontransaction tx{fresh.connection()};
      tx.exec("SET statement_timeout = " + std::to_string(statement_timeout_seconds_ * 1000));
    } catch (const pqxx::broken_connection& e) {
      throw schema::DatabaseUnavailable(e.what());
    }
    if (on_connect_) on_connect_(fresh);
    store_.emplace(std::move(fresh));
  }
  return *store_;
}

BlockingPool::BlockingPool(Options options) : options_(std::move(options)) {
  for (unsigned i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { worker_loop(); });
}

BlockingPool::~BlockingPool() { stop(); }

void BlockingPool::submit(std::unique_ptr<TaskBase> task) {
  bool stopping = false;
  {
    std::lock_guard lock{mutex_};
    stopping = stopping_;
    if (!stopping_ && waiting_.size() < options_.max_waiting) {
      waiting_.push_back(std::move(task));
      wake_.notify_one();
      return;
    }
  }
  if (stopping) {
    task->reject(std::make_exception_ptr(schema::DatabaseUnavailable("blocking pool is stopping")));
  } else {
    task->reject(std::make_exception_ptr(PoolFull("blocking pool is full")));
  }
}

void BlockingPool::worker_loop() {
  BlockingContext context{options_.database_url, options_.statement_timeout_seconds, options_.on_connect};
  for (;;) {
    std::unique_ptr<TaskBase> task;
    {
      std::unique_lock lock{mutex_};
      wake_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
      if (waiting_.empty()) return;
      task = std::move(waiting_.front());
      waiting_.pop_front();
    }
    task->execute(context);
  }
}

void BlockingPool::stop() {
  {
    std::lock_guard lock{mutex_};
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace postern
