// The webhook poster over real loopback sockets: an http:// endpoint served by a small Beast
// server in the same io_context, which answers each request with the status the test chose (or
// never). What the request carries, which answers count as acknowledged, how failures read, and
// that a kept-alive connection is reused.
#include "server/webhooks/webhook_poster.hpp"

#include "server/webhooks/webhook_signature.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <string>
#include <vector>

namespace postern::webhooks {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;

// Answers each request with the next status of `statuses` (200 once they are used up); 0: never
// answers. Counts the connections it accepted.
class TestServer {
 public:
  explicit TestServer(asio::io_context& io) : acceptor_(io, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  void close() { acceptor_.close(); }

  std::deque<unsigned> statuses;
  std::vector<bhttp::request<bhttp::string_body>> requests;
  unsigned connections = 0;

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      ++connections;
      asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    boost::beast::flat_buffer buffer;
    for (;;) {
      bhttp::request<bhttp::string_body> request;
      boost::system::error_code ec;
      co_await bhttp::async_read(socket, buffer, request, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      requests.push_back(request);
      unsigned status = 200;
      if (!statuses.empty()) {
        status = statuses.front();
        statuses.pop_front();
      }
      if (status == 0) {
        asio::steady_timer forever(socket.get_executor(), std::chrono::hours{1});
        co_await forever.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        co_return;
      }
      bhttp::response<bhttp::string_body> response{static_cast<bhttp::status>(status), 11};
      response.keep_alive(true);
      if (status != 204) response.body() = "ok";  // a 204 has no body
      response.prepare_payload();
      co_await bhttp::async_write(socket, response, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
    }
  }

  tcp::acceptor acceptor_;
};

config::WebhookEndpoint endpoint(unsigned short port) {
  config::WebhookEndpoint e;
  e.name = "test";
  e.url = "http://127.0.0.1:" + std::to_string(port) + "/hooks?x=1";
  e.secret = "whsec-unit";
  return e;
}

WebhookPostResult post(asio::io_context& io, WebhookPoster& poster, std::string body = R"({"id":"e1"})") {
  auto future = asio::co_spawn(io, poster.post("e1", "message.delivered", std::move(body)), asio::use_future);
  while (future.wait_for(std::chrono::seconds{0}) != std::future_status::ready) io.run_one();
  return future.get();
}

TEST(WebhookPoster, PostsTheSignedEventWithItsHeaders) {
  asio::io_context io;
  TestServer server(io);
  WebhookPoster poster(io.get_executor(), endpoint(server.port()), std::chrono::seconds{5}, 2);
  const WebhookPostResult result = post(io, poster);
  EXPECT_TRUE(result.ok) << result.error;
  ASSERT_EQ(server.requests.size(), 1u);
  const auto& request = server.requests[0];
  EXPECT_EQ(request.method(), bhttp::verb::post);
  EXPECT_EQ(request.target(), "/hooks?x=1");
  EXPECT_EQ(request[bhttp::field::host], "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(request[bhttp::field::content_type], "application/json");
  EXPECT_EQ(request[bhttp::field::user_agent], "Postern");
  EXPECT_EQ(request["Postern-Event-Id"], "e1");
  EXPECT_EQ(request["Postern-Event-Type"], "message.delivered");
  EXPECT_EQ(request.body(), R"({"id":"e1"})");
  const std::string signature(request["Postern-Signature"]);
  const std::string time = signature.substr(2, signature.find(',') - 2);
  EXPECT_EQ(signature, webhook_signature("whsec-unit", std::stoll(time), request.body()));
}

TEST(WebhookPoster, ReusesAKeptConnection) {
  asio::io_context io;
  TestServer server(io);
  WebhookPoster poster(io.get_executor(), endpoint(server.port()), std::chrono::seconds{5}, 2);
  EXPECT_TRUE(post(io, poster).ok);
  EXPECT_TRUE(post(io, poster).ok);
  EXPECT_EQ(server.requests.size(), 2u);
  EXPECT_EQ(server.connections, 1u);
}

TEST(WebhookPoster, OnlyA2xxAcknowledges) {
  asio::io_context io;
  TestServer server(io);
  server.statuses = {204, 301, 404, 503};
  WebhookPoster poster(io.get_executor(), endpoint(server.port()), std::chrono::seconds{5}, 2);
  EXPECT_TRUE(post(io, poster).ok);
  EXPECT_EQ(post(io, poster).error, "HTTP 301");
  EXPECT_EQ(post(io, poster).error, "HTTP 404");
  const WebhookPostResult failed = post(io, poster);
  EXPECT_FALSE(failed.ok);
  EXPECT_EQ(failed.error, "HTTP 503");
}

TEST(WebhookPoster, ARefusedConnectionIsAFailure) {
  asio::io_context io;
  TestServer server(io);
  const unsigned short port = server.port();
  server.close();
  WebhookPoster poster(io.get_executor(), endpoint(port), std::chrono::seconds{5}, 2);
  const WebhookPostResult result = post(io, poster);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, "connect to 127.0.0.1:" + std::to_string(port) + " failed: Connection refused");
}

TEST(WebhookPoster, NoAnswerWithinTheTimeoutIsAFailure) {
  asio::io_context io;
  TestServer server(io);
  server.statuses = {0};
  WebhookPoster poster(io.get_executor(), endpoint(server.port()), std::chrono::seconds{1}, 2);
  const auto started = std::chrono::steady_clock::now();
  const WebhookPostResult result = post(io, poster);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, "no answer within 1 s");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds{3});
}

TEST(WebhookPoster, ACaFileThatCannotBeLoadedFailsEveryPost) {
  asio::io_context io;
  config::WebhookEndpoint e = endpoint(443);
  e.url = "https://127.0.0.1/hooks";
  e.ca_file = "/nonexistent/ca.pem";
  WebhookPoster poster(io.get_executor(), e, std::chrono::seconds{1}, 2);
  const WebhookPostResult result = post(io, poster);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.find("cannot load CA file /nonexistent/ca.pem"), std::string::npos) << result.error;
}

}  // namespace
}  // namespace postern::webhooks
