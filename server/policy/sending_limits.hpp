// Per-user sending limits, enforced across replicas from counts kept in PostgreSQL
// (postern/schema/sending_limits.hpp). Each user active on this replica has a SendingBudget in
// memory: MAIL FROM and RCPT are checked and counted there, without waiting for PostgreSQL, so
// one user's concurrent sessions never queue on a database row. About once a second (sync
// interval) a background loop adds this replica's new counts to its own rows and reads every
// replica's totals back, in two statements for all users together.
//
// What is counted: each MAIL FROM and each RCPT that the limits allowed and the checks before
// them accepted (as Postfix's anvil counts requests), whether or not the message is then queued.
// Over a limit: `450 4.7.1 Sending rate limit exceeded, try again later`, at MAIL FROM for the
// messages limits, at RCPT for the recipients limits. Mail Postern makes itself (DSNs, shares)
// never passes here.
//
// How far replicas can overshoot: one replica alone never does. Each replica sees the others'
// counts as of its last sync, so a user sending through R replicas at once can exceed a limit
// by what the other R-1 accepted for that user within about one sync interval (plus the counts
// a replica that stops had not added yet: at most its last interval's).
//
// A user's own limits are read with the counts when the user first sends, kept for the cache
// TTL, and read again at the next MAIL FROM after PostgreSQL notifies a change to the user
// (invalidate) or while the relay cannot hear PostgreSQL (set_listening(false)).
//
//   SendingLimits limits{io.get_executor(), pool, options};
//   limits.start();
//   smtp::Outcome o = co_await limits.check_message(user, budget);   // MAIL FROM, after the grants
//   smtp::Outcome r = limits.check_recipient(budget);                // RCPT
#pragma once

#include "server/policy/sending_budget.hpp"
#include "server/smtp/step.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace postern {
class BlockingPool;
}

namespace postern::policy {

class SendingLimits {
 public:
  struct Options {
    Limits defaults;  // postern.yaml's; a user's own replace them
    WindowLengths windows;
    std::chrono::milliseconds sync_interval{1000};
    std::chrono::seconds cache_ttl{300};  // how long a user's own limits are used without reading them again
    std::string replica;  // names this process's rows: unique per process
  };

  // A user's budget, held by a session from MAIL FROM to the end of the transaction.
  struct Budget;

  SendingLimits(boost::asio::any_io_executor executor, BlockingPool& pool, Options options);
  ~SendingLimits();

  // Starts the sync loop on the executor.
  void start();

  // MAIL FROM, after the grant check passed: Accepted (the message is counted), TemporaryFailure
  // with the 450 when over a limit, or a plain TemporaryFailure when PostgreSQL could not answer
  // (451). `budget` is set for check_recipient().
  boost::asio::awaitable<smtp::Outcome> check_message(const std::string& user, std::shared_ptr<Budget>& budget);
  // RCPT, in memory.
  smtp::Outcome check_recipient(const std::shared_ptr<Budget>& budget);

  // From the notification listener's thread.
  void invalidate(const std::string& user);
  void invalidate_all();
  void set_listening(bool listening);

  // A reload: budgets loaded from now on take these defaults and cache TTL; a session's budget
  // held since its MAIL FROM keeps its limits. The windows and the sync interval are fixed.
  void set_defaults(Limits defaults, std::chrono::seconds cache_ttl);

  // The reply to a command over a limit.
  static smtp::Outcome exceeded();

 private:
  struct Entry;
  boost::asio::awaitable<void> sync_loop();
  boost::asio::awaitable<void> sync_once();
  boost::asio::awaitable<std::shared_ptr<Budget>> load(const std::string& user);

  boost::asio::any_io_executor executor_;
  BlockingPool& pool_;
  Options options_;   // defaults and cache_ttl change under mutex_ (set_defaults); the rest never
  std::mutex mutex_;  // guards everything below and every Budget's counts
  std::unordered_map<std::string, Entry> users_;
  std::uint64_t generation_ = 0;  // bumped by every invalidation: a load that raced one is not kept current
  bool listening_ = false;
  std::chrono::steady_clock::time_point last_expiry_{};
};

}  // namespace postern::policy
