// See admin_server.hpp.
#include "server/admin/admin_server.hpp"

#include "server/admin/admin_api.hpp"
#include "server/admin/api_error.hpp"
#include "server/net/tls_context.hpp"
#include "server/runtime/log.hpp"

#include "postern/schema/store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <pqxx/pqxx>

#include <array>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <type_traits>

namespace postern::admin {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

struct ConnectionBounds {
  ConnectionBounds(std::chrono::seconds timeout, std::uint64_t max_body_bytes, unsigned max_connections)
      : timeout(timeout), max_body_bytes(max_body_bytes), max_connections(max_connections) {}
  const std::chrono::seconds timeout;
  const std::uint64_t max_body_bytes;
  const unsigned max_connections;
  std::atomic<unsigned> open{0};
  std::atomic<bool> draining{false};  // answer what is asked, then close
};

namespace {

constexpr std::size_t kHeaderLimit = 8 * 1024;

BlockingPool::Options pool_options(const config::AdminApiConfig& config) {
  BlockingPool::Options options;
  options.database_url = config.database_url;
  options.threads = config.database_pool_size;
  options.statement_timeout_seconds = config.timeout_seconds;
  options.max_waiting = 64;
  options.wait_timeout = std::chrono::seconds{config.timeout_seconds};
  // Audit times are read and `since` is taken in UTC, as mailadmin does.
  options.on_connect = [](schema::Store& store) {
    pqxx::nontransaction tx{store.connection()};
    tx.exec("SET TIME ZONE 'UTC'");
  };
  return options;
}

TokenStore load_tokens(const std::string& path) {
  try {
    return TokenStore::load(path);
  } catch (const TokenFileError& e) {
    throw std::runtime_error(std::string("admin_api.tokens_file: ") + e.what());
  }
}

template <class Stream>
auto& lowest(Stream& stream) {
  return beast::get_lowest_layer(stream);
}

template <class Stream>
constexpr bool kIsTls = !std::is_same_v<Stream, std::remove_cvref_t<decltype(beast::get_lowest_layer(std::declval<Stream&>()))>>;

// After a refusal with input unread: closing now could reset the connection before the client
// reads the answer, so read and drop what it still sends, for a moment.
template <class Stream>
asio::awaitable<void> drop_remaining_input(Stream& stream) {
  std::array<char, 16384> sink;
  std::size_t dropped = 0;
  beast::error_code ec;
  lowest(stream).expires_after(std::chrono::seconds{1});
  while (dropped < 16 * 1024 * 1024) {
    dropped += co_await stream.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
}

template <class Stream>
asio::awaitable<void> serve(std::shared_ptr<AdminApi> api, std::shared_ptr<ConnectionBounds> bounds, Stream stream,
                            std::string peer) {
  struct Release {
    ConnectionBounds& bounds;
    ~Release() { --bounds.open; }
  } release{*bounds};
  beast::error_code ec;
  if constexpr (kIsTls<Stream>) {
    lowest(stream).expires_after(bounds->timeout);
    co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      log::debug("admin_api_tls_failed", {{"peer", peer}, {"error", ec.message()}});
      co_return;
    }
  }
  beast::flat_buffer buffer;
  bool refused = false;  // answered without reading the whole request
  for (bool keep_alive = true; keep_alive;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(bounds->max_body_bytes);
    lowest(stream).expires_after(bounds->timeout);
    co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    Response response;
    if (ec == bhttp::error::body_limit) {
      response = json_response(11, 413, error_body("payload_too_large", "the request body is larger than " +
                                                                           std::to_string(bounds->max_body_bytes) +
                                                                           " bytes"));
      refused = true;
      keep_alive = false;
    } else if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
               ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      response = json_response(11, 400, error_body("bad_request", "malformed HTTP request: " + ec.message()));
      refused = true;
      keep_alive = false;
    } else if (ec) {
      break;  // closed, timed out, or an I/O error
    } else {
      const Request& request = parser.get();
      response = co_await api->answer(request, peer);
      keep_alive = request.keep_alive() && !bounds->draining;
    }
    response.keep_alive(keep_alive);
    lowest(stream).expires_after(bounds->timeout);
    co_await bhttp::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
  if constexpr (kIsTls<Stream>) {
    if (refused) co_await drop_remaining_input(stream);
    lowest(stream).expires_after(std::chrono::seconds{2});
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  } else {
    lowest(stream).socket().shutdown(asio::socket_base::shutdown_send, ec);
    if (refused) co_await drop_remaining_input(stream);
  }
  lowest(stream).close();
}

void log_failure(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    log::error("admin_api_connection_failed", {{"error", e.what()}});
  } catch (...) {
    log::error("admin_api_connection_failed", {{"error", "unknown"}});
  }
}

// What keys the rate limit of requests without a valid token: the client's IP address; every
// client of a unix socket is one peer.
template <class Socket>
std::string peer_of(const Socket& socket) {
  if constexpr (std::is_same_v<typename Socket::protocol_type, asio::ip::tcp>) {
    beast::error_code ec;
    const auto endpoint = socket.remote_endpoint(ec);
    return ec ? "unknown" : endpoint.address().to_string();
  } else {
    return "unix";
  }
}

}  // namespace

AdminServer::AdminServer(asio::io_context& io, const config::AdminApiConfig& config, ApiSettings settings)
    : io_(io),
      drain_signals_(io, SIGTERM, SIGINT),
      bounds_(std::make_shared<ConnectionBounds>(std::chrono::seconds{config.timeout_seconds}, config.max_body_bytes,
                                                 config.max_connections)) {
  TokenStore tokens = load_tokens(config.tokens_file);
  if (config.tls()) tls_ = std::make_unique<net::TlsContext>(config.tls_certificate_file, config.tls_key_file);
  boost::system::error_code ec;
  if (!config.path.empty()) {
    name_ = config.path;
    // A socket file left by a process that died would refuse the bind.
    std::error_code ignored;
    std::filesystem::remove(config.path, ignored);
    asio::local::stream_protocol::endpoint endpoint{config.path};
    unix_acceptor_.emplace(io);
    unix_acceptor_->open(endpoint.protocol(), ec);
    if (!ec) unix_acceptor_->bind(endpoint, ec);
    if (!ec) unix_acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  } else {
    const bool v6 = config.address.find(':') != std::string::npos;
    name_ = (v6 ? "[" + config.address + "]" : config.address) + ":" + std::to_string(config.port);
    asio::ip::tcp::endpoint endpoint{asio::ip::make_address(config.address), config.port};
    tcp_acceptor_.emplace(io);
    tcp_acceptor_->open(endpoint.protocol(), ec);
    if (!ec) tcp_acceptor_->set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) tcp_acceptor_->bind(endpoint, ec);
    if (!ec) tcp_acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) throw std::runtime_error("cannot listen on " + name_ + " (admin_api): " + ec.message());
  log::info("admin_api_tokens", {{"file", config.tokens_file}, {"count", std::to_string(tokens.size())}});
  api_ = std::make_shared<AdminApi>(std::move(tokens), std::move(settings), pool_options(config),
                                    config.requests_per_second, config.burst);
}

AdminServer::~AdminServer() = default;

void AdminServer::reconfigure(ApiSettings settings) { api_->reconfigure(std::move(settings)); }

void AdminServer::start() {
  close_at_drain();
  if (tcp_acceptor_) asio::co_spawn(io_, accept_loop(*tcp_acceptor_), asio::detached);
  if (unix_acceptor_) asio::co_spawn(io_, accept_loop(*unix_acceptor_), asio::detached);
}

// The daemon's Signals drain the relay on the same signals; each signal_set hears them.
void AdminServer::close_at_drain() {
  drain_signals_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    bounds_->draining = true;
    boost::system::error_code ignored;
    if (tcp_acceptor_) tcp_acceptor_->close(ignored);
    if (unix_acceptor_) unix_acceptor_->close(ignored);
    log::info("admin_api_closed", {{"reason", "draining"}});
  });
}

void AdminServer::stop() { api_->stop(); }

template <class Acceptor>
asio::awaitable<void> AdminServer::accept_loop(Acceptor& acceptor) {
  using Protocol = typename Acceptor::protocol_type;
  using PlainStream = beast::basic_stream<Protocol>;
  for (;;) {
    boost::system::error_code ec;
    auto strand = asio::make_strand(io_);
    typename Protocol::socket socket = co_await acceptor.async_accept(strand, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!acceptor.is_open()) co_return;
      log::warning("admin_api_accept_failed", {{"error", ec.message()}});
      asio::steady_timer pause{io_, std::chrono::milliseconds{100}};
      co_await pause.async_wait(asio::use_awaitable);
      continue;
    }
    if (bounds_->open.fetch_add(1) >= bounds_->max_connections) {
      --bounds_->open;
      log::warning("admin_api_connection_refused", {{"reason", "max_connections"}});
      socket.close(ec);
      continue;
    }
    std::string peer = peer_of(socket);
    if (tls_) {
      using TlsStream = beast::ssl_stream<PlainStream>;
      auto context = tls_->current();
      asio::co_spawn(strand,
                     [api = api_, bounds = bounds_, context, stream = TlsStream(PlainStream(std::move(socket)), *context),
                      peer]() mutable -> asio::awaitable<void> {
                       co_await serve(std::move(api), std::move(bounds), std::move(stream), std::move(peer));
                     },
                     log_failure);
    } else {
      asio::co_spawn(strand, serve(api_, bounds_, PlainStream(std::move(socket)), std::move(peer)), log_failure);
    }
  }
}

}  // namespace postern::admin
