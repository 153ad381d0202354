// The bounded pool of threads that run everything that blocks — libpqxx queries and Argon2 —
// so the I/O threads never do. Each thread owns one PostgreSQL connection (a schema::Store),
// opened on first use and reopened after it breaks; work that needs no database (hashing)
// never touches it. From a coroutine:
//
//   auto grants = co_await pool.run([&](BlockingContext& c) { return c.store().grants_of(user); });
//
// Exceptions thrown by the work are rethrown in the coroutine. The queue of work waiting for a
// thread is bounded (Options::max_waiting): when it is full, run() fails at once with PoolFull
// (a DatabaseUnavailable), so a stuck database or a flood of logins turns into 4xx replies
// instead of an unbounded backlog.
#pragma once

#include "postern/schema/errors.hpp"
#include "postern/schema/store.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace postern {

// run() refused the work at once: max_waiting pieces of work already wait for a thread.
struct PoolFull : schema::DatabaseUnavailable {
  using DatabaseUnavailable::DatabaseUnavailable;
};

// What a piece of blocking work gets: its thread's database connection, opened on demand.
class BlockingContext {
 public:
  BlockingContext(const std::string& database_url, unsigned statement_timeout_seconds,
                  std::function<void(schema::Store&)> on_connect);
  // Throws DatabaseUnavailable when PostgreSQL cannot be reached.
  schema::Store& store();
  // Forget the connection (after a failure), so the next store() reconnects.
  void reset() { store_.reset(); }

 private:
  const std::string& url_;
  unsigned statement_timeout_seconds_;
  std::function<void(schema::Store&)> on_connect_;
  std::optional<schema::Store> store_;
};

class BlockingPool {
 public:
  struct Options {
    std::string database_url;
    unsigned threads = 4;
    unsigned statement_timeout_seconds = 5;
    std::size_t max_waiting = 1000;  // work waiting for a thread (not running); more: PoolFull
    // Run on every new connection, e.g. to prepare more statements.
    std::function<void(schema::Store&)> on_connect;
  };

  explicit BlockingPool(Options options);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Runs `work(BlockingContext&)` on a pool thread; resumes the caller on its own executor.
  template <class Work>
  auto run(Work work) -> boost::asio::awaitable<std::invoke_result_t<Work&, BlockingContext&>> {
    using Result = std::invoke_result_t<Work&, BlockingContext&>;
    static_assert(!std::is_void_v<Result>, "return a value (e.g. bool) from blocking work");
    auto initiate = [this](auto handler, Work w) {
      auto guard = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler));
      submit(std::make_unique<Task<Result, Work, decltype(handler), decltype(guard)>>(
          std::move(w), std::move(handler), std::move(guard)));
    };
    co_return co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable),
                                                   void(std::exception_ptr, Result)>(
        std::move(initiate), boost::asio::use_awaitable, std::move(work));
  }

  // Stops accepting work, finishes what is queued, joins the threads.
  void stop();

 private:
  struct TaskBase {
    virtual ~TaskBase() = default;
    virtual void execute(BlockingContext& context) = 0;
    virtual void reject(std::exception_ptr error) = 0;
  };

  template <class Result, class Work, class Handler, class Guard>
  struct Task final : TaskBase {
    Task(Work w, Handler h, Guard g) : work(std::move(w)), handler(std::move(h)), guard(std::move(g)) {}
    void execute(BlockingContext& context) override {
      try {
        complete(nullptr, work(context));
      } catch (const schema::NotFound&) {
        complete(std::current_exception(), Result{});
      } catch (const schema::AlreadyExists&) {
        complete(std::current_exception(), Result{});
      } catch (const schema::InvalidInput&) {
        complete(std::current_exception(), Result{});
      } catch (...) {
        // Anything else may have left the connection unusable: start the next work afresh.
        context.reset();
        complete(std::current_exception(), Result{});
      }
    }
    void reject(std::exception_ptr error) override { complete(error, Result{}); }
    void complete(std::exception_ptr error, Result result) {
      auto executor = boost::asio::get_associated_executor(handler);
      boost::asio::post(executor, [h = std::move(handler), error, r = std::move(result)]() mutable {
        std::move(h)(error, std::move(r));
      });
      guard.reset();
    }
    Work work;
    Handler handler;
    Guard guard;
  };

  void submit(std::unique_ptr<TaskBase> task);
  void worker_loop();

  Options options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<TaskBase>> waiting_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace postern
