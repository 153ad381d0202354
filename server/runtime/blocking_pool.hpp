// The bounded pool of threads that run everything that blocks — libpqxx queries, Argon2, file
// writes — so the I/O threads never do. Each thread owns one PostgreSQL connection (a
// schema::Store), opened on first use and reopened after it breaks; work that needs no database
// (hashing) never touches it. From a coroutine:
//
//   auto grants = co_await pool.run(
//       [](BlockingContext& c, const std::string& user) { return c.store().grants_of(user); }, user);
//
// Two bounds keep every caller answered in time, even when PostgreSQL hangs without failing
// (frozen, or a network that drops packets: no kernel timeout fires then):
//   - the queue of work waiting for a thread holds at most Options::max_waiting pieces; more
//     fail at once with PoolFull;
//   - the caller waits at most Options::wait_timeout, then gets WaitTimeout. The work may still
//     run later: it owns everything it uses — the function captures nothing (checked at compile
//     time) and its arguments are moved into it — so a caller that has gone leaves nothing
//     dangling. Work that has not started when its caller gave up is dropped, never run.
// Both are DatabaseUnavailable, which callers answer with a 4xx. Exceptions thrown by the work are
// rethrown in the coroutine.
#pragma once

#include "postern/schema/errors.hpp"
#include "postern/schema/store.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

namespace postern {

// run() refused the work at once: max_waiting pieces of work already wait for a thread.
struct PoolFull : schema::DatabaseUnavailable {
  using DatabaseUnavailable::DatabaseUnavailable;
};

// The caller stopped waiting after Options::wait_timeout.
struct WaitTimeout : schema::DatabaseUnavailable {
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
    std::chrono::milliseconds wait_timeout{30000};  // a caller waits no longer: WaitTimeout
    // Run on every new connection, e.g. to prepare more statements.
    std::function<void(schema::Store&)> on_connect;
  };

  explicit BlockingPool(Options options);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Runs `work(context, args...)` on a pool thread and resumes the caller on its own executor
  // with the result, or with WaitTimeout once Options::wait_timeout has passed.
  template <class Work, class... Args>
  auto run(Work work, Args... args)
      -> boost::asio::awaitable<std::invoke_result_t<Work&, BlockingContext&, Args&...>> {
    static_assert(std::is_empty_v<Work>,
                  "blocking work captures nothing: pass what it uses as arguments, which it then owns");
    using Result = std::invoke_result_t<Work&, BlockingContext&, Args&...>;
    static_assert(!std::is_void_v<Result>, "return a value (e.g. bool) from blocking work");
    auto bound = [work, owned = std::tuple<Args...>(std::move(args)...)](BlockingContext& context) mutable {
      return std::apply([&](Args&... a) { return work(context, a...); }, owned);
    };
    auto initiate = [this](auto handler, auto w) {
      auto waiter = std::make_shared<Waiter<Result, decltype(handler)>>(std::move(handler));
      waiter->start_deadline(options_.wait_timeout);
      submit(std::make_unique<Task<Result, decltype(w), decltype(waiter)>>(std::move(w), std::move(waiter)));
    };
    co_return co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable),
                                                   void(std::exception_ptr, Result)>(
        std::move(initiate), boost::asio::use_awaitable, std::move(bound));
  }

  // Stops accepting work, finishes what is queued, joins the threads.
  void stop();

 private:
  // The caller's side of one piece of work: its completion handler, answered exactly once — by
  // the work's result or by the deadline, whichever comes first. Only the caller's executor
  // touches the handler, the timer and the work guard, so a pool thread that drops the last
  // reference late (after a timeout, even after the io_context is gone) destroys nothing of it.
  template <class Result, class Handler>
  struct Waiter : std::enable_shared_from_this<Waiter<Result, Handler>> {
    using Executor = boost::asio::associated_executor_t<Handler>;

    explicit Waiter(Handler h)
        : handler(std::move(h)),
          executor(boost::asio::get_associated_executor(handler)),
          guard(boost::asio::make_work_guard(executor)),
          deadline(std::in_place, executor) {}

    void start_deadline(std::chrono::milliseconds timeout) {
      deadline->expires_after(timeout);
      deadline->async_wait([self = this->shared_from_this(), timeout](const boost::system::error_code& ec) {
        if (ec || self->answered.exchange(true)) return;
        self->call(std::make_exception_ptr(WaitTimeout(
                       "no answer within " + std::to_string(timeout.count()) + " ms (database or pool stuck)")),
                   Result{});
      });
    }
    // True once the caller has its answer: work not yet started is then dropped.
    bool abandoned() const { return answered.load(); }
    // From a pool thread, which gives up its reference here.
    static void finish(std::shared_ptr<Waiter> self, std::exception_ptr error, Result result) {
      if (self->answered.exchange(true)) return;  // the deadline answered first; the result is dropped
      auto executor = self->executor;
      boost::asio::post(executor, [self = std::move(self), error, r = std::move(result)]() mutable {
        self->call(error, std::move(r));
      });
    }
    // On the caller's executor.
    void call(std::exception_ptr error, Result result) {
      deadline.reset();  // cancels a pending wait
      std::move(handler)(error, std::move(result));
      guard.reset();
    }

    Handler handler;
    Executor executor;
    boost::asio::executor_work_guard<Executor> guard;
    std::optional<boost::asio::steady_timer> deadline;
    std::atomic<bool> answered{false};
  };

  struct TaskBase {
    virtual ~TaskBase() = default;
    virtual void execute(BlockingContext& context) = 0;
    virtual void reject(std::exception_ptr error) = 0;
  };

  template <class Result, class Work, class WaiterPtr>
  struct Task final : TaskBase {
    Task(Work w, WaiterPtr waiter) : work(std::move(w)), waiter(std::move(waiter)) {}
    void execute(BlockingContext& context) override {
      if (waiter->abandoned()) return;
      std::exception_ptr error;
      Result result{};
      try {
        result = work(context);
      } catch (const schema::NotFound&) {
        error = std::current_exception();
      } catch (const schema::AlreadyExists&) {
        error = std::current_exception();
      } catch (const schema::InvalidInput&) {
        error = std::current_exception();
      } catch (...) {
        // Anything else may have left the connection unusable: start the next work afresh.
        context.reset();
        error = std::current_exception();
      }
      WaiterPtr::element_type::finish(std::move(waiter), error, std::move(result));
    }
    void reject(std::exception_ptr error) override {
      WaiterPtr::element_type::finish(std::move(waiter), error, Result{});
    }
    Work work;
    WaiterPtr waiter;
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
