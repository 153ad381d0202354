// PostgreSQL as /readyz and /metrics report it. A background loop checks it every `interval` on
// a connection of its own (a one-thread BlockingPool), so a probe is answered at once from the last
// check: it never waits for the database, never queues behind SMTP's queries, and the database
// sees one check per interval however many clients scrape. A check that gets no answer within
// its wait timeout (PostgreSQL frozen, packets dropped) reports "database timeout"; the next
// check goes on regardless.
//
//   DatabaseStatus status{io, options, std::chrono::seconds{5}};
//   status.start();
//   std::string problem = status.problem();   // "" when PostgreSQL answers and is migrated
#pragma once

#include "server/runtime/blocking_pool.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <mutex>
#include <string>

namespace postern::http {

class DatabaseStatus {
 public:
  // `pool` options: the database URL and statement timeout; threads, queue and wait timeout are
  // set here.
  DatabaseStatus(boost::asio::io_context& io, BlockingPool::Options pool, std::chrono::seconds interval);
  ~DatabaseStatus();

  // Starts the loop: the first check runs at once.
  void start();
  // Stops the loop and its thread (waits for a check still running).
  void stop();

  // "" when ready, else one line: "database not checked yet", "database unreachable",
  // "database timeout", "migrations pending: N", "migrations changed: ...".
  std::string problem() const;

 private:
  boost::asio::awaitable<void> loop();
  boost::asio::awaitable<void> check();

  BlockingPool pool_;
  boost::asio::steady_timer timer_;
  std::chrono::seconds interval_;
  bool stopped_ = false;
  mutable std::mutex mutex_;
  std::string problem_ = "database not checked yet";
};

}  // namespace postern::http
