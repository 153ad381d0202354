// See database_status.hpp.
#include "server/http/database_status.hpp"

#include "postern/schema/migrations.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/metrics.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <pqxx/pqxx>

#include <algorithm>

namespace postern::http {
namespace asio = boost::asio;

namespace {

// One check's findings, made on the pool thread.
struct Findings {
  std::string problem;  // "" when migrated
  double queue_depth = 0;
  double oldest_age = 0;
};

Findings examine(BlockingContext& context) {
  Findings found;
  auto& db = context.store().connection();
  auto plan = schema::migration_status(db);
  if (!plan.problems.empty()) {
    found.problem = "migrations changed: " + plan.problems.front();
    return found;
  }
  if (!plan.pending.empty()) {
    found.problem = "migrations pending: " + std::to_string(plan.pending.size());
    return found;
  }
  // Queue depth and the age of the oldest message, for all replicas.
  pqxx::nontransaction tx{db};
  auto rows = tx.exec(
      "SELECT count(*), coalesce(extract(epoch from now() - min(created_at)), 0)::float8 FROM postern_queue");
  found.queue_depth = rows[0][0].as<double>();
  found.oldest_age = std::max(0.0, rows[0][1].as<double>());
  return found;
}

// A check waits no longer than its statements may run, plus a second.
BlockingPool::Options status_pool(BlockingPool::Options options) {
  options.threads = 1;
  options.max_waiting = 1;
  options.on_connect = nullptr;  // it reads; it prepares nothing
  options.wait_timeout = std::chrono::seconds{options.statement_timeout_seconds + 1};
  return options;
}

}  // namespace

DatabaseStatus::DatabaseStatus(asio::io_context& io, BlockingPool::Options pool, std::chrono::seconds interval)
    : pool_(status_pool(std::move(pool))), timer_(asio::make_strand(io)), interval_(interval) {}

DatabaseStatus::~DatabaseStatus() { stop(); }

void DatabaseStatus::start() { asio::co_spawn(timer_.get_executor(), loop(), asio::detached); }

void DatabaseStatus::stop() {
  asio::post(timer_.get_executor(), [this] {
    stopped_ = true;
    timer_.cancel();
  });
  pool_.stop();
}

std::string DatabaseStatus::problem() const {
  std::lock_guard lock{mutex_};
  return problem_;
}

asio::awaitable<void> DatabaseStatus::loop() {
  while (!stopped_) {
    co_await check();
    timer_.expires_after(interval_);
    boost::system::error_code ignored;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

asio::awaitable<void> DatabaseStatus::check() {
  std::string problem;
  std::string error;
  try {
    Findings found = co_await pool_.run([](BlockingContext& context) { return examine(context); });
    problem = found.problem;
    metrics::queue().database_up.set(1);
    if (problem.empty()) {
      metrics::queue().depth.set(found.queue_depth);
      metrics::queue().oldest_age.set(found.oldest_age);
    }
  } catch (const WaitTimeout& e) {
    problem = "database timeout";
    error = e.what();
  } catch (const PoolFull& e) {  // the one slot is still held by a check that never came back
    problem = "database timeout";
    error = e.what();
  } catch (const std::exception& e) {
    problem = "database unreachable";
    error = e.what();
  }
  if (!error.empty()) {
    metrics::queue().database_up.set(0);
    log::debug("database_check_failed", {{"error", error}});
  }
  std::lock_guard lock{mutex_};
  problem_ = std::move(problem);
}

}  // namespace postern::http
