// The operations endpoint: a small HTTP/1.1 server (Boost.Beast) on its own port, for probes
// and Prometheus. It shares the relay's io_context and blocking pool, and nothing it receives
// can disturb SMTP: each connection is a coroutine with 10 s read and write timeouts, a request
// is at most 8 KiB of header and 4 KiB of body, a malformed one gets 400 and the connection is
// closed, and at most 32 connections are served at once (more are closed at once).
//
//   GET /healthz  200 "ok\n" while the process runs (and its I/O threads answer)
//   GET /readyz   200 "ready\n", or 503 with one line: "draining", "not listening",
//                 "database unreachable: ...", "database timeout", "migrations pending: N"
//   GET /metrics  200 metrics::render_prometheus(), after refreshing the queue gauges
//   other paths 404; other methods on these paths 405 (with Allow: GET)
//
//   HttpServer http{io, config.http, pool, [&] { return draining ? "draining" : ""; }};
//   http.start();
#pragma once

#include "server/config/config.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace postern {
class BlockingPool;
}

namespace postern::http {

class HttpServer {
 public:
  // Why the relay cannot serve SMTP right now ("" when it can): checked first by /readyz.
  using ServingProblem = std::function<std::string()>;

  // Binds the port; throws std::runtime_error naming the address when that fails.
  HttpServer(boost::asio::io_context& io, const config::HttpConfig& config, BlockingPool& pool,
             ServingProblem serving_problem);

  // Starts the accept loop on the io_context.
  void start();
  const std::string& name() const { return name_; }

  // The database probes (readiness, queue gauges) give up after this.
  static constexpr std::chrono::seconds kProbeTimeout{2};

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  BlockingPool& pool_;
  ServingProblem serving_problem_;
  std::string name_;
  // Shared with the connections, whose frames may outlive this object at shutdown.
  std::shared_ptr<std::atomic<unsigned>> active_ = std::make_shared<std::atomic<unsigned>>(0);
};

}  // namespace postern::http
