// The operations endpoint: a small HTTP/1.1 server (Boost.Beast) on its own port, for probes
// and Prometheus. It shares the relay's io_context, answers every request at once from memory
// (PostgreSQL's state comes from DatabaseStatus, checked in the background on a connection of
// its own), and nothing it receives can disturb SMTP: each connection is a coroutine with 10 s
// read and write timeouts, a request is at most 8 KiB of header and 4 KiB of body, a malformed
// one gets 400 and the connection is closed, and at most 32 connections are open at once — a
// newcomer beyond that closes the connection that has waited longest for its next request, so
// idle keep-alive clients cannot keep the kubelet's probes out.
//
//   GET /healthz  200 "ok\n" while the process runs (and its I/O threads answer)
//   GET /readyz   200 "ready\n", or 503 with one line: "draining", "not listening", or
//                 DatabaseStatus::problem() ("database unreachable", "database timeout", ...)
//   GET /metrics  200 metrics::render_prometheus()
//   other paths 404; other methods on these paths 405 (with Allow: GET)
//
//   HttpServer http{io, config.http, database_status, [&] { return draining ? "draining" : ""; }};
//   http.start();
#pragma once

#include "server/config/config.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace postern::http {

class DatabaseStatus;

class OpenConnections;  // http_server.cpp

class HttpServer {
 public:
  // Why the relay cannot serve SMTP right now ("" when it can): checked first by /readyz.
  using ServingProblem = std::function<std::string()>;

  // Binds the port; throws std::runtime_error naming the address when that fails.
  HttpServer(boost::asio::io_context& io, const config::HttpConfig& config, const DatabaseStatus& database,
             ServingProblem serving_problem);

  // Starts the accept loop on the io_context.
  void start();
  const std::string& name() const { return name_; }

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  const DatabaseStatus& database_;
  ServingProblem serving_problem_;
  std::string name_;
  // Shared with the connections, whose frames may outlive this object at shutdown.
  std::shared_ptr<OpenConnections> connections_;
};

}  // namespace postern::http
