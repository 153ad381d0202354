// POSTs webhook events to one endpoint over HTTP/1.1 (Boost.Beast), with TLS 1.2+ and the
// endpoint's certificate verified (ca_file, else the system store; the host name or IP address
// checked) for https://. One deadline per POST covers resolving, connecting, the handshake, the
// request and the response. Connections are kept alive and reused, up to `max_idle` of them.
// A 2xx is success; anything else — a status, a refused connection, a certificate that does not
// verify, the deadline — is a failure described in one line. The body and the secret are never
// part of a description.
//
// Not thread-safe: every call on one strand (the dispatcher's), several posts at once allowed.
//
//   WebhookPoster poster{strand, endpoint, std::chrono::seconds{10}, 4};
//   WebhookPostResult result = co_await poster.post(event_id, "message.delivered", body);
#pragma once

#include "server/config/webhooks_config.hpp"
#include "server/webhooks/webhook_url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace postern::webhooks {

struct WebhookPostResult {
  bool ok = false;
  std::string error;  // when !ok: "HTTP 503", "connect to h:443 failed: Connection refused", ...
};

class WebhookPoster {
 public:
  WebhookPoster(boost::asio::any_io_executor executor, const config::WebhookEndpoint& endpoint,
                std::chrono::seconds timeout, unsigned max_idle);
  ~WebhookPoster();
  WebhookPoster(const WebhookPoster&) = delete;
  WebhookPoster& operator=(const WebhookPoster&) = delete;

  // Signs `body` with the endpoint's secret at the current time and POSTs it.
  boost::asio::awaitable<WebhookPostResult> post(std::string event_id, std::string event_type, std::string body);

  // Closes the idle connections.
  void close();

 private:
  struct Connection;
  boost::asio::awaitable<WebhookPostResult> exchange(Connection& connection, const std::string& event_id,
                                                     const std::string& event_type, const std::string& body,
                                                     std::chrono::steady_clock::time_point deadline);
  void keep(std::unique_ptr<Connection> connection);  // among the idle ones, when fit and room
  boost::asio::awaitable<std::string> connect(Connection& connection, std::chrono::steady_clock::time_point deadline);

  boost::asio::any_io_executor executor_;
  WebhookUrl url_;
  std::string secret_;
  std::chrono::seconds timeout_;
  unsigned max_idle_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // https:// only
  std::string tls_error_;                           // the CA file could not be loaded: every post fails so
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace postern::webhooks
