// See webhook_poster.hpp.
#include "server/webhooks/webhook_poster.hpp"

#include "server/delivery/upstream_tls.hpp"
#include "server/runtime/log.hpp"
#include "server/webhooks/webhook_signature.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <optional>

namespace postern::webhooks {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

// A receiver's answer is read whole (so the connection can be reused) but never kept.
constexpr std::uint64_t kMaxResponseBodyBytes = 64 * 1024;

}  // namespace

// One connection: plain TCP for http://, TLS over TCP for https://.
struct WebhookPoster::Connection {
  Connection(asio::any_io_executor executor, asio::ssl::context* tls) {
    if (tls != nullptr) secure.emplace(beast::tcp_stream(executor), *tls);
    else plain.emplace(executor);
  }
  beast::tcp_stream& tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  bool answered = false;  // the last exchange read a response
  bool timed_out = false;  // the last exchange ran into the deadline
  bool reusable = false;  // the last exchange left the connection fit for the next request
};

WebhookPoster::WebhookPoster(asio::any_io_executor executor, const config::WebhookEndpoint& endpoint,
                             std::chrono::seconds timeout, unsigned max_idle)
    : executor_(std::move(executor)),
      url_(parse_webhook_url(endpoint.url)),
      secret_(endpoint.secret),
      timeout_(timeout),
      max_idle_(max_idle) {
  if (!url_.tls) return;
  try {
    tls_ = delivery::make_upstream_tls_context({url_.host, true, endpoint.ca_file});
  } catch (const std::exception& e) {
    tls_error_ = e.what();
    log::error("webhook_tls_setup_failed", {{"endpoint", endpoint.name}, {"error", tls_error_}});
  }
}

WebhookPoster::~WebhookPoster() = default;

void WebhookPoster::close() { idle_.clear(); }

// Resolves, connects and (https://) handshakes; empty when done, else why not.
asio::awaitable<std::string> WebhookPoster::connect(Connection& connection,
                                                    std::chrono::steady_clock::time_point deadline) {
  const std::string where = url_.host + ":" + url_.port;
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(executor_);
  asio::steady_timer resolve_deadline(executor_);
  resolve_deadline.expires_at(deadline);
  resolve_deadline.async_wait([&resolver](boost::system::error_code waited) {
    if (!waited) resolver.cancel();
  });
  auto endpoints = co_await resolver.async_resolve(url_.host, url_.port, asio::redirect_error(asio::use_awaitable, ec));
  resolve_deadline.cancel();
  if (ec == asio::error::operation_aborted) co_return "resolving " + url_.host + " timed out";
  if (ec) co_return "resolving " + url_.host + " failed: " + ec.message();
  connection.tcp().expires_at(deadline);
  co_await connection.tcp().async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == beast::error::timeout) co_return "connect to " + where + " timed out";
  if (ec) co_return "connect to " + where + " failed: " + ec.message();
  if (!connection.secure) co_return "";
  const delivery::TlsPeer peer{url_.host, true, ""};
  delivery::prepare_upstream_tls(connection.secure->native_handle(), peer);
  connection.tcp().expires_at(deadline);
  co_await connection.secure->async_handshake(asio::ssl::stream_base::client,
                                              asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return "TLS handshake with " + where + " failed: " +
        delivery::upstream_tls_failure(connection.secure->native_handle(), peer, ec, ec == beast::error::timeout);
  }
  co_return "";
}

// Writes the request and reads the answer on a connected connection.
asio::awaitable<WebhookPostResult> WebhookPoster::exchange(Connection& connection, const std::string& event_id,
                                                           const std::string& event_type, const std::string& body,
                                                           std::chrono::steady_clock::time_point deadline) {
  const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
  bhttp::request<bhttp::string_body> request{bhttp::verb::post, url_.target, 11};
  request.set(bhttp::field::host, url_.host_header());
  request.set(bhttp::field::user_agent, "Postern");
  request.set(bhttp::field::content_type, "application/json");
  request.set("Postern-Signature", webhook_signature(secret_, now, body));
  request.set("Postern-Event-Id", event_id);
  request.set("Postern-Event-Type", event_type);
  request.keep_alive(true);
  request.body() = body;
  request.prepare_payload();

  boost::system::error_code ec;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(kMaxResponseBodyBytes);
  connection.tcp().expires_at(deadline);
  if (connection.secure) {
    co_await bhttp::async_write(*connection.secure, request, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      co_await bhttp::async_read(*connection.secure, connection.buffer, parser,
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
  } else {
    co_await bhttp::async_write(*connection.plain, request, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
      co_await bhttp::async_read(*connection.plain, connection.buffer, parser,
                                 asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  connection.timed_out = ec == beast::error::timeout;
  connection.answered = !ec;
  connection.reusable = !ec && parser.get().keep_alive();
  if (connection.timed_out) {
    co_return WebhookPostResult{false, "no answer within " + std::to_string(timeout_.count()) + " s"};
  }
  if (ec) co_return WebhookPostResult{false, "request to " + url_.host + ":" + url_.port + " failed: " + ec.message()};
  const unsigned status = parser.get().result_int();
  if (status >= 200 && status < 300) co_return WebhookPostResult{true, ""};
  co_return WebhookPostResult{false, "HTTP " + std::to_string(status)};
}

asio::awaitable<WebhookPostResult> WebhookPoster::post(std::string event_id, std::string event_type,
                                                       std::string body) {
  if (!tls_error_.empty()) co_return WebhookPostResult{false, tls_error_};
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  // A kept connection that the receiver closed meanwhile fails before any answer: the post then
  // goes over the next one, or a new one, within the same deadline.
  while (!idle_.empty()) {
    std::unique_ptr<Connection> kept = std::move(idle_.back());
    idle_.pop_back();
    WebhookPostResult result = co_await exchange(*kept, event_id, event_type, body, deadline);
    if (kept->answered || kept->timed_out) {
      keep(std::move(kept));
      co_return result;
    }
  }
  auto fresh = std::make_unique<Connection>(executor_, tls_.get());
  std::string error = co_await connect(*fresh, deadline);
  if (!error.empty()) co_return WebhookPostResult{false, std::move(error)};
  WebhookPostResult result = co_await exchange(*fresh, event_id, event_type, body, deadline);
  keep(std::move(fresh));
  co_return result;
}

void WebhookPoster::keep(std::unique_ptr<Connection> connection) {
  if (connection->reusable && idle_.size() < max_idle_) idle_.push_back(std::move(connection));
}

}  // namespace postern::webhooks
