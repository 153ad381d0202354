// See http_server.hpp.
#include "server/http/http_server.hpp"

#include "server/http/database_status.hpp"
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

#include <array>
#include <memory>
#include <mutex>
#include <vector>
#include <utility>

namespace postern::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;

// The open connections, so that a full server can close the one idle longest. Each connection
// runs on its own strand; its stream is touched there only.
class OpenConnections {
 public:
  struct Slot {
    asio::any_io_executor executor;       // the connection's strand
    beast::tcp_stream* stream = nullptr;  // on that strand only; null once closing
    bool evicted = false;                 // on that strand only
    bool waiting = false;                 // for a request (under the mutex)
    std::chrono::steady_clock::time_point waiting_since;
  };

  std::shared_ptr<Slot> add(asio::any_io_executor executor, beast::tcp_stream* stream);
  void remove(const std::shared_ptr<Slot>& slot);
  void set_waiting(Slot& slot, bool waiting);
  std::size_t size() const;
  // Closes the connection that has waited longest for a request; false when none waits.
  bool evict_longest_waiting();

 private:
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Slot>> slots_;
};

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

}  // namespace

HttpServer::HttpServer(asio::io_context& io, const config::HttpConfig& config, const DatabaseStatus& database,
                       ServingProblem serving_problem)
    : io_(io),
      acceptor_(io),
      database_(database),
      serving_problem_(std::move(serving_problem)),
      connections_(std::make_shared<OpenConnections>()) {
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
    // Full: the connection that has waited longest for its next request makes room, so a few
    // idle keep-alive clients cannot keep the kubelet's probes out.
    if (connections_->size() >= kMaxConnections && !connections_->evict_longest_waiting()) {
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
Response respond(const bhttp::request<bhttp::string_body>& request, const DatabaseStatus& database,
                 const HttpServer::ServingProblem& serving_problem) {
  const std::string target{request.target()};
  const std::string path = target.substr(0, target.find('?'));
  const unsigned version = request.version();
  if (path != "/healthz" && path != "/readyz" && path != "/metrics") {
    return make_response(version, bhttp::status::not_found, "not found\n");
  }
  if (request.method() != bhttp::verb::get) {
    Response response = make_response(version, bhttp::status::method_not_allowed, "method not allowed\n");
    response.set(bhttp::field::allow, "GET");
    return response;
  }
  if (path == "/healthz") return make_response(version, bhttp::status::ok, "ok\n");
  if (path == "/readyz") {
    std::string problem = serving_problem();
    if (problem.empty()) problem = database.problem();
    return problem.empty() ? make_response(version, bhttp::status::ok, "ready\n")
                           : make_response(version, bhttp::status::service_unavailable, problem + "\n");
  }
  return make_response(version, bhttp::status::ok, metrics::render_prometheus(),
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
  beast::tcp_stream stream{std::move(socket)};
  auto slot = connections_->add(co_await asio::this_coro::executor, &stream);
  struct Release {  // owns the registry: a frame destroyed at shutdown may outlive this object
    std::shared_ptr<OpenConnections> connections;
    std::shared_ptr<OpenConnections::Slot> slot;
    ~Release() { connections->remove(slot); }
  } release{connections_, slot};

  beast::flat_buffer buffer{kHeaderLimit + kBodyLimit};
  bool refused = false;  // a 400 was sent
  for (bool keep_alive = true; keep_alive && !slot->evicted;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(kBodyLimit);
    beast::error_code ec;
    stream.expires_after(kIoTimeout);
    connections_->set_waiting(*slot, true);
    co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    connections_->set_waiting(*slot, false);
    if (slot->evicted || ec == bhttp::error::end_of_stream || ec == beast::error::timeout) break;
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
      response = respond(request, database_, serving_problem_);
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
  slot->stream = nullptr;
  stream.close();
}

// ---- OpenConnections -----------------------------------------------------------------------

std::shared_ptr<OpenConnections::Slot> OpenConnections::add(asio::any_io_executor executor, beast::tcp_stream* stream) {
  auto slot = std::make_shared<Slot>();
  slot->executor = std::move(executor);
  slot->stream = stream;
  std::lock_guard lock{mutex_};
  slots_.push_back(slot);
  return slot;
}

void OpenConnections::remove(const std::shared_ptr<Slot>& slot) {
  std::lock_guard lock{mutex_};
  std::erase(slots_, slot);
}

void OpenConnections::set_waiting(Slot& slot, bool waiting) {
  std::lock_guard lock{mutex_};
  slot.waiting = waiting;
  slot.waiting_since = std::chrono::steady_clock::now();
}

std::size_t OpenConnections::size() const {
  std::lock_guard lock{mutex_};
  return slots_.size();
}

bool OpenConnections::evict_longest_waiting() {
  std::shared_ptr<Slot> chosen;
  {
    std::lock_guard lock{mutex_};
    auto longest = slots_.end();
    for (auto it = slots_.begin(); it != slots_.end(); ++it) {
      if ((*it)->waiting && (longest == slots_.end() || (*it)->waiting_since < (*longest)->waiting_since)) longest = it;
    }
    if (longest == slots_.end()) return false;
    chosen = *longest;
    slots_.erase(longest);  // counted out now, so the newcomer fits
  }
  // On the connection's strand, where its stream lives: its pending read ends, and so does it.
  asio::post(chosen->executor, [chosen] {
    chosen->evicted = true;
    if (chosen->stream) chosen->stream->cancel();
  });
  return true;
}

}  // namespace postern::http
