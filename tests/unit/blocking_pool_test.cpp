// BlockingPool without a database: results and errors come back to the coroutine, a caller never
// waits past the wait timeout however long the work blocks, work whose caller has gone is dropped
// before it starts, and a full queue refuses at once.
#include "server/runtime/blocking_pool.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>

namespace postern {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

BlockingPool::Options options(unsigned threads, std::size_t max_waiting, std::chrono::milliseconds wait) {
  BlockingPool::Options o;
  o.threads = threads;
  o.max_waiting = max_waiting;
  o.wait_timeout = wait;
  return o;
}

// Runs `body` as a coroutine to its end on a fresh io_context; rethrows what it threw.
template <class Body>
void run_coroutine(Body body) {
  asio::io_context io;
  std::exception_ptr failure;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
}

// A gate the work blocks on until the test opens it.
struct Gate {
  std::promise<void> open;
  std::shared_future<void> opened = open.get_future().share();
};

TEST(BlockingPool, ReturnsTheResultAndTheArgumentsAreTheWorksOwn) {
  BlockingPool pool{options(2, 10, 5s)};
  run_coroutine([&]() -> asio::awaitable<void> {
    std::string word = "relay";
    const std::size_t size = co_await pool.run(
        [](BlockingContext&, std::string& owned, int extra) { return owned.append("!").size() + extra; }, word, 10);
    EXPECT_EQ(size, 16u);
    EXPECT_EQ(word, "relay");  // the work changed its own copy
  });
}

TEST(BlockingPool, RethrowsTheWorksException) {
  BlockingPool pool{options(1, 10, 5s)};
  run_coroutine([&]() -> asio::awaitable<void> {
    EXPECT_THROW(co_await pool.run([](BlockingContext&) -> bool { throw std::runtime_error("boom"); }),
                 std::runtime_error);
  });
}

TEST(BlockingPool, TheCallerStopsWaitingAtTheTimeoutAndQueuedWorkIsDropped) {
  BlockingPool pool{options(1, 10, 200ms)};
  Gate gate;
  std::atomic<int> ran_after{0};
  run_coroutine([&]() -> asio::awaitable<void> {
    const auto started = Clock::now();
    // Holds the only thread until the gate opens.
    EXPECT_THROW(co_await pool.run(
                     [](BlockingContext&, std::shared_future<void> opened) {
                       opened.wait();
                       return true;
                     },
                     gate.opened),
                 WaitTimeout);
    // Waits behind it, times out, and must never run.
    EXPECT_THROW(co_await pool.run(
                     [](BlockingContext&, std::atomic<int>* counter) {
                       ++*counter;
                       return true;
                     },
                     &ran_after),
                 WaitTimeout);
    const auto waited = Clock::now() - started;
    EXPECT_GE(waited, 400ms);
    EXPECT_LT(waited, 5s);  // bounded by the deadlines, not by the blocked work
  });
  gate.open.set_value();
  pool.stop();  // runs what is queued: the abandoned work is skipped
  EXPECT_EQ(ran_after.load(), 0);
}

TEST(BlockingPool, AFullQueueRefusesAtOnce) {
  BlockingPool pool{options(1, 1, 10s)};
  Gate gate;
  std::promise<void> running;
  std::atomic<int> answered{0};
  asio::io_context io;
  auto blocked = [&](std::promise<void>* started) -> asio::awaitable<void> {
    co_await pool.run(
        [](BlockingContext&, std::shared_future<void> opened, std::promise<void>* s) {
          if (s) s->set_value();
          opened.wait();
          return true;
        },
        gate.opened, started);
    ++answered;
  };
  asio::co_spawn(io, blocked(&running), asio::detached);
  io.poll();
  running.get_future().wait();  // the only thread holds it
  asio::co_spawn(io, blocked(nullptr), asio::detached);
  io.poll();  // it waits in the queue, which is full now
  bool refused = false;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    try {
      co_await pool.run([](BlockingContext&) { return true; });
    } catch (const PoolFull&) {
      refused = true;
    }
    gate.open.set_value();
  }, asio::detached);
  io.run();
  EXPECT_TRUE(refused);
  EXPECT_EQ(answered.load(), 2);
}

}  // namespace
}  // namespace postern
