// See http_server.hpp.
#include "server/http/http_server.hpp"

#include "postern/schema/migrations.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/metrics.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <pqxx/pqxx>

#include <array>
#include <memory>
#include <optional>
#include <utility>

namespace postern::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;

namespace {

constexpr std::chrono::seconds kIoTimeout{10};
constexpr std::size_t kHeaderLimit = 8 * 1024;
constexpr std::uint64_t kBodyLimit = 4 * 1024;
constexpr unsigned kMaxConnections = 32;

using Response = bhttp::response<bhttp::string_body>;

Response make_response(unsigned version, bhttp::status status, std::string body,
                       const char* type = "text/plain; charset=utf-8") {
  Response response{status, version};
  response.set(bhttp::field::content_type, type);
  response.set(bhttp::field::cache_control, "no-store");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

// Blocking work with a deadline: the result (or the error) of `work` on the pool, unless it takes
// longer than `limit`; then "timeout", and the late result is dropped. The caller's executor must
// be a strand (it is shared with the coroutine that waits for the pool).
template <class Result>
struct Probe {
  explicit Probe(const asio::any_io_executor& executor) : timer(executor) {}
  asio::steady_timer timer;
  bool done = false;
  std::optional<Result> value;
  std::string error;
};

template <class Result, class Work>
asio::awaitable<void> run_probe(std::shared_ptr<Probe<Result>> probe, BlockingPool& pool, Work work) {
  try {
    probe->value = co_await pool.run(std::move(work));
  } catch (const std::exception& e) {
    probe->error = e.what();
  }
  probe->done = true;
  probe->timer.cancel();
}

template <class Work, class Result = std::invoke_result_t<Work&, BlockingContext&>>
asio::awaitable<std::shared_ptr<Probe<Result>>> with_timeout(BlockingPool& pool, Work work) {
  auto executor = co_await asio::this_coro::executor;
  auto probe = std::make_shared<Probe<Result>>(executor);
  asio::co_spawn(executor, run_probe<Result, Work>(probe, pool, std::move(work)), asio::detached);
  if (!probe->done) {
    probe->timer.expires_after(HttpServer::kProbeTimeout);
    boost::system::error_code ignored;
    co_await probe->timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  if (!probe->done) probe->error = "timeout";
  co_return probe;
}

// "" when PostgreSQL answers and every migration of this binary is applied.
asio::awaitable<std::string> database_problem(BlockingPool& pool) {
  auto probe = co_await with_timeout(pool, [](BlockingContext& context) {
    {
      pqxx::nontransaction tx{context.store().connection()};
      tx.exec("SELECT 1");
    }
    auto plan = schema::migration_status(context.store().connection());
    if (!plan.problems.empty()) return "migrations changed: " + plan.problems.front();
    if (!plan.pending.empty()) return "migrations pending: " + std::to_string(plan.pending.size());
    return std::string();
  });
  metrics::queue().database_up.set(probe->value ? 1 : 0);
  if (probe->value) co_return *probe->value;
  log::debug("readiness_database", {{"error", probe->error}});
  co_return probe->error == "timeout" ? "database timeout" : "database unreachable";
}

// Queue depth and the age of the oldest message, for all replicas; left as they were when the
// query fails (postern_database_up says so).
asio::awaitable<void> refresh_queue_gauges(BlockingPool& pool) {
  auto probe = co_await with_timeout(pool, [](BlockingContext& context) {
    pqxx::nontransaction tx{context.store().connection()};
    auto rows = tx.exec(
        "SELECT count(*), coalesce(extract(epoch from now() - min(created_at)), 0)::float8 FROM postern_queue");
    return std::pair<double, double>{rows[0][0].as<double>(), rows[0][1].as<double>()};
  });
  metrics::queue().database_up.set(probe->value ? 1 : 0);
  if (!probe->value) {
    log::debug("metrics_queue_query_failed", {{"error", probe->error}});
    co_return;
  }
  metrics::queue().depth.set(probe->value->first);
  metrics::queue().oldest_age.set(std::max(0.0, probe->value->second));
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, const config::HttpConfig& config, BlockingPool& pool,
                       ServingProblem serving_problem)
    : io_(io), acceptor_(io), pool_(pool), serving_problem_(std::move(serving_problem)) {
  const bool v6 = config.address.find(':') != std::string::npos;
  name_ = (v6 ? "[" + config.address + "]" : config.address) + ":" + std::to_string(config.port);
  tcp::endpoint endpoint{asio::ip::make_address(config.address), config.port};
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + name_ + " (http): " + ec.message());
}

void HttpServer::start() { asio::co_spawn(io_, accept_loop(), asio::detached); }

asio::awaitable<void> HttpServer::accept_loop() {
  for (;;) {
    boost::system::error_code ec;
    auto strand = asio::make_strand(io_);
    tcp::socket socket = co_await acceptor_.async_accept(strand, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open()) co_return;
      log::warning("http_accept_failed", {{"error", ec.message()}});
      asio::steady_timer pause{io_, std::chrono::milliseconds{100}};
      co_await pause.async_wait(asio::use_awaitable);
      continue;
    }
    if (active_->load() >= kMaxConnections) {
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    asio::co_spawn(strand, serve(std::move(socket)), [](std::exception_ptr error) {
      if (!error) return;
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        log::error("http_connection_failed", {{"error", e.what()}});
      }
    });
  }
}

namespace {

// The answer to one well-formed request: the three GET endpoints, 404 and 405 otherwise.
asio::awaitable<Response> respond(const bhttp::request<bhttp::string_body>& request, BlockingPool& pool,
                                  const HttpServer::ServingProblem& serving_problem) {
  const std::string target{request.target()};
  const std::string path = target.substr(0, target.find('?'));
  const unsigned version = request.version();
  if (path != "/healthz" && path != "/readyz" && path != "/metrics") {
    co_return make_response(version, bhttp::status::not_found, "not found\n");
  }
  if (request.method() != bhttp::verb::get) {
    Response response = make_response(version, bhttp::status::method_not_allowed, "method not allowed\n");
    response.set(bhttp::field::allow, "GET");
    co_return response;
  }
  if (path == "/healthz") co_return make_response(version, bhttp::status::ok, "ok\n");
  if (path == "/readyz") {
    std::string problem = serving_problem();
    if (problem.empty()) problem = co_await database_problem(pool);
    if (problem.empty()) problem = serving_problem();  // drain may have begun meanwhile
    co_return problem.empty() ? make_response(version, bhttp::status::ok, "ready\n")
                              : make_response(version, bhttp::status::service_unavailable, problem + "\n");
  }
  co_await refresh_queue_gauges(pool);
  co_return make_response(version, bhttp::status::ok, metrics::render_prometheus(),
                          "text/plain; version=0.0.4; charset=utf-8");
}

// After a 400: closing with unread input would reset the connection and could destroy the 400
// before the client reads it, so read and drop what it still sends, for a moment.
asio::awaitable<void> drop_remaining_input(beast::tcp_stream& stream) {
  std::array<char, 4096> sink;
  std::size_t dropped = 0;
  beast::error_code ec;
  stream.expires_after(std::chrono::seconds{1});
  while (dropped < 256 * 1024) {
    dropped += co_await stream.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
}

}  // namespace

asio::awaitable<void> HttpServer::serve(tcp::socket socket) {
  struct Release {
    std::shared_ptr<std::atomic<unsigned>> active;
    ~Release() { --*active; }
  } release{active_};
  ++*active_;

  beast::tcp_stream stream{std::move(socket)};
  beast::flat_buffer buffer{kHeaderLimit + kBodyLimit};
  bool refused = false;  // a 400 was sent
  for (bool keep_alive = true; keep_alive;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(kBodyLimit);
    beast::error_code ec;
    stream.expires_after(kIoTimeout);
    co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout) break;
    Response response;
    std::string method, target;
    if (ec) {
      if (ec.category() != bhttp::make_error_code(bhttp::error::bad_target).category()) break;  // I/O error
      // Malformed, too large: say so once and hang up.
      response = make_response(11, bhttp::status::bad_request, "bad request\n");
      refused = true;
      keep_alive = false;
      log::debug("http_bad_request", {{"error", ec.message()}});
    } else {
      const auto& request = parser.get();
      method = std::string(request.method_string());
      target = std::string(request.target());
      response = co_await respond(request, pool_, serving_problem_);
      // After a 405, a HEAD client would not read the body: start afresh.
      keep_alive = request.keep_alive() && response.result() != bhttp::status::method_not_allowed;
    }
    response.keep_alive(keep_alive);
    log::debug("http_request", {{"method", method}, {"target", target},
                                {"status", std::to_string(response.result_int())}});
    stream.expires_after(kIoTimeout);
    co_await bhttp::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  if (refused) co_await drop_remaining_input(stream);
  stream.close();
}

}  // namespace postern::http
