// One connection's byte stream, for both directions of SMTP: the inbound session (a client
// connected to us) and the upstream connection (we connect to a provider). It owns the socket,
// plain until a TLS handshake (implicit TLS, or STARTTLS mid-stream), and one deadline timer:
// every operation takes an absolute deadline, and when it passes the pending I/O is cancelled
// and timed_out() says so. Nothing here knows SMTP.
//
//   Transport t{std::move(accepted_socket), tls_context, Transport::Role::Server};
//   auto n = co_await t.read_some(buffer, Transport::after(std::chrono::seconds{300}), ec);
//   if (t.timed_out()) ...   // the deadline cancelled the read
//
// Operations on one Transport run one at a time, on the socket's executor (a strand). A copy
// of a Transport is a handle to the same connection.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio::ssl {
class context;
}
using SSL = struct ssl_st;

namespace postern::net {

class Transport {
 public:
  using Clock = std::chrono::steady_clock;
  using Deadline = Clock::time_point;
  enum class Role { Server, Client };  // which side of the TLS handshake we take

  // An accepted connection (Role::Server) or a socket opened by connect() (Role::Client). tls:
  // the context for a later handshake; null when this connection never does TLS.
  Transport(boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> tls, Role role);
  // A client connection not yet connected: see connect().
  Transport(boost::asio::any_io_executor executor, std::shared_ptr<boost::asio::ssl::context> tls);
  ~Transport();

  static Deadline after(std::chrono::steady_clock::duration limit) { return Clock::now() + limit; }

  // Client side: resolves host and connects to each address in turn until one answers.
  // Returns "" on success, else what failed: "cannot resolve HOST: ...", "connect to HOST:PORT
  // failed: ..." (resolve_failed() tells which of the two).
  boost::asio::awaitable<std::string> connect(const std::string& host, std::uint16_t port, Deadline deadline);
  bool resolve_failed() const;

  // Reads what is there (at least one byte) into data[0, size). Returns 0 and sets ec on
  // failure, end of stream, timeout (timed_out()) or abort() (aborted()).
  boost::asio::awaitable<std::size_t> read_some(char* data, std::size_t size, Deadline deadline,
                                                boost::system::error_code& ec);

  // Writes all of bytes; the error, if any (timed_out() tells a timeout apart).
  boost::asio::awaitable<boost::system::error_code> write(std::string_view bytes, Deadline deadline);

  // The TLS handshake on the open connection; from then on reads and writes go through TLS.
  // The client side sets SNI and peer verification through native_handle() first.
  boost::asio::awaitable<boost::system::error_code> handshake(Deadline deadline);

  // Says goodbye to TLS (close_notify, within the deadline) when encrypted, then closes the
  // socket. Never fails; calling it again does nothing.
  boost::asio::awaitable<void> close(Deadline deadline);
  // Closes the socket at once, without a TLS goodbye.
  void close_now();

  // Cancels the operation in flight, and makes every later read, connect and handshake fail at
  // once (a drain past its grace period); writes and close() still work, so a last reply such
  // as "421 Service shutting down" can go out. Call it on the connection's executor.
  void abort();

  bool is_open() const;
  bool encrypted() const;
  bool timed_out() const;  // the last operation ran into its deadline
  bool aborted() const;
  std::string tls_version() const;  // "" when not encrypted
  std::string tls_cipher() const;
  // The TLS session, for SNI and verification settings before handshake(); null without a TLS
  // context.
  SSL* native_handle();
  boost::asio::ip::tcp::socket& socket();
  const boost::asio::any_io_executor& executor() const;

  // The peer's address as text ("192.0.2.1", "::1", an IPv4-mapped IPv6 address as IPv4),
  // "local" on a unix socket, or "unknown"; and whether it is a loopback address (a unix socket
  // is).
  std::string peer_address() const;
  bool peer_is_loopback() const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the deadline's handler, which holds it weakly
};

}  // namespace postern::net
