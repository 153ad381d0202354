// See amqp_publisher.hpp.
#include "server/delivery/amqp_publisher.hpp"

#include "server/delivery/amqp_connection.hpp"
#include "server/delivery/socket_watchdog.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/log.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

namespace postern::delivery {

struct AmqpPublisher::Connections {
  explicit Connections(const Upstream& u) : upstream(u) {}

  // On a pool thread: one publish on an idle connection, or a fresh one.
  JournalResult publish_once(const std::string& payload) {
    std::unique_ptr<AmqpConnection> connection = take();
    if (connection && !connection->usable()) {
      log::info("amqp_connection_stale", {{"upstream", upstream.name}});
      connection.reset();
    }
    if (!connection) {
      connection = std::make_unique<AmqpConnection>(upstream, watchdog);
      if (std::string failure = connection->open(); !failure.empty()) {
        log::debug("amqp_connect_failed", {{"upstream", upstream.name}, {"error", failure}});
        connection->close();
        return {JournalResult::Kind::Deferred, std::move(failure)};
      }
      log::debug("amqp_connected", {{"upstream", upstream.name}, {"host", upstream.host},
                                    {"port", std::to_string(upstream.port)}, {"vhost", upstream.amqp.vhost}});
    }
    JournalResult result = connection->publish(payload);
    if (connection->broken()) {
      log::info("amqp_connection_dropped", {{"upstream", upstream.name}, {"reason", result.detail}});
      connection->close();
    } else {
      put_back(std::move(connection));
    }
    return result;
  }

  std::unique_ptr<AmqpConnection> take() {
    std::lock_guard lock{mutex};
    if (idle.empty()) return nullptr;
    auto connection = std::move(idle.back());
    idle.pop_back();
    return connection;
  }

  void put_back(std::unique_ptr<AmqpConnection> connection) {
    {
      std::lock_guard lock{mutex};
      if (!closed) {
        idle.push_back(std::move(connection));
        return;
      }
    }
    connection->close();
  }

  // After the pool stopped: no thread uses a connection any more.
  void close_all() {
    std::vector<std::unique_ptr<AmqpConnection>> all;
    {
      std::lock_guard lock{mutex};
      closed = true;
      all.swap(idle);
    }
    for (auto& connection : all) connection->close();
  }

  const Upstream upstream;  // a copy: work that outlives a caller's wait still reads it
  SocketWatchdog watchdog;
  std::mutex mutex;
  std::vector<std::unique_ptr<AmqpConnection>> idle;
  bool closed = false;
};

namespace {

// How long a caller waits for its publish: longer than the slowest one on a fresh connection
// (connect, login, three set-up replies, the write and the confirm, each with its own timeout,
// the write with one more second per MiB), plus room for the threads to be busy with others.
std::chrono::milliseconds caller_wait(const Upstream& upstream) {
  return std::chrono::seconds(8 * std::max(upstream.timeout_seconds, 1u) + 60);
}

}  // namespace

AmqpPublisher::AmqpPublisher(const Upstream& upstream) : connections_(std::make_shared<Connections>(upstream)) {
  // As for an SMTP upstream: say so once when the password or the messages travel unprotected.
  if (upstream.security == UpstreamSecurity::None) {
    log::warning("amqp_login_without_tls", {{"upstream", upstream.name}, {"host", upstream.host}});
  } else if (!upstream.verify_certificate) {
    log::warning("amqp_certificate_not_verified", {{"upstream", upstream.name}, {"host", upstream.host}});
  }
  BlockingPool::Options pool;  // its work never opens a database connection
  pool.threads = std::max(upstream.max_connections, 1u);
  pool.wait_timeout = caller_wait(upstream);
  pool_ = std::make_unique<BlockingPool>(std::move(pool));
}

AmqpPublisher::~AmqpPublisher() { close(); }

void AmqpPublisher::close() {
  pool_->stop();
  connections_->close_all();
}

boost::asio::awaitable<JournalResult> AmqpPublisher::publish(std::shared_ptr<const std::string> payload) {
  std::string detail;
  try {
    JournalResult result = co_await pool_->run(
        [](BlockingContext&, std::shared_ptr<Connections>& connections, std::shared_ptr<const std::string>& body) {
          return connections->publish_once(*body);
        },
        connections_, std::move(payload));
    co_return result;
  } catch (const PoolFull&) {
    detail = "amqp: too many messages waiting for a connection";
  } catch (const WaitTimeout&) {
    detail = "amqp: no result within " + std::to_string(caller_wait(connections_->upstream).count() / 1000) +
             " s (the broker is slow or every connection is busy)";
  } catch (const schema::DatabaseUnavailable&) {  // the pool has stopped
    detail = "amqp: the publisher is shutting down";
  }
  co_return JournalResult{JournalResult::Kind::Deferred, std::move(detail)};
}

}  // namespace postern::delivery
