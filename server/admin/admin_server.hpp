// The admin API's listener: HTTP/1.1 (Boost.Beast) on its own TCP address (loopback by default)
// or unix socket, with TLS 1.2+ when configured (net::TlsContext). Each connection is a
// coroutine on its own strand; what it may cost is bounded: 8 KiB of request header, the
// configured body size (413 beyond, then the connection closes), the configured timeout for the
// TLS handshake, for reading each request and for writing each response, and at most
// max_connections open at once (more are closed at once). At SIGTERM or SIGINT (the daemon's
// drain) it stops accepting and closes each connection after its current request. The requests
// themselves are answered by AdminApi (admin_api.hpp).
//
//   AdminServer server{io, config.admin_api, settings};  // binds; throws naming the address
//   server.start();
//   ...io.run() returns...
//   server.stop();
#pragma once

#include "server/config/admin_api_config.hpp"
#include "server/admin/api_request.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/signal_set.hpp>

#include <memory>
#include <optional>
#include <string>

namespace postern::net { class TlsContext; }

namespace postern::admin {

class AdminApi;
struct ConnectionBounds;  // admin_server.cpp

class AdminServer {
 public:
  // Reads the tokens file and binds. Throws std::runtime_error naming the file or address.
  AdminServer(boost::asio::io_context& io, const config::AdminApiConfig& config, ApiSettings settings);
  ~AdminServer();

  void start();
  // The relay's settings the operations use, from a reload.
  void reconfigure(ApiSettings settings);
  // After the io_context has stopped: lets the operations under way finish, closes the database
  // connections.
  void stop();
  const std::string& name() const { return name_; }

 private:
  template <class Acceptor>
  boost::asio::awaitable<void> accept_loop(Acceptor& acceptor);
  void close_at_drain();

  boost::asio::io_context& io_;
  std::string name_;
  std::optional<boost::asio::ip::tcp::acceptor> tcp_acceptor_;
  std::optional<boost::asio::local::stream_protocol::acceptor> unix_acceptor_;
  boost::asio::signal_set drain_signals_;
  std::unique_ptr<net::TlsContext> tls_;
  // Shared with the connections, whose frames may outlive this object at shutdown.
  std::shared_ptr<AdminApi> api_;
  std::shared_ptr<ConnectionBounds> bounds_;
};

}  // namespace postern::admin
