// See listener.hpp.
#include "server/net/listener.hpp"

#include "server/net/proxy_reader.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/metrics.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <exception>
#include <stdexcept>
#include <utility>

namespace postern::net {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

void log_session_failure(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    log::error("session_failed", {{"error", e.what()}});
  }
}

// The peer as text, an IPv4-mapped IPv6 address as IPv4 (as Transport::peer_address() names it).
std::string peer_text(const tcp::socket& socket) {
  boost::system::error_code ec;
  const auto address = socket.remote_endpoint(ec).address();
  if (ec) return "unknown";
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

void refuse_proxied(tcp::socket& socket, const std::string& listener, const std::string& proxy, const char* reason,
                    const std::string& detail) {
  metrics::smtp().proxy_refusals.inc(reason);
  log::warning("proxy_refused", {{"listener", listener}, {"peer", proxy}, {"reason", detail}});
  boost::system::error_code ignored;
  socket.close(ignored);
}

// A connection of a proxy_protocol listener: only from trusted_proxies, and only with a PROXY
// header, which names the client. The connection limits count that client, so the slot is taken
// once the header is read (the balancer's own address would put every client in one slot); until
// then the connection is bounded by the header's deadline and comes from a trusted proxy only.
asio::awaitable<void> proxied_session(tcp::socket socket, std::shared_ptr<const SessionSettings> settings,
                                      ConnectionLimiter& limiter, SessionServices& services, std::string listener) {
  const std::string proxy = peer_text(socket);
  if (!any_contains(settings->trusted_proxies, proxy)) {
    refuse_proxied(socket, listener, proxy, "untrusted", "not in trusted_proxies");
    co_return;
  }
  ProxyRead read = co_await read_proxy_header(socket, settings->proxy_protocol_timeout);
  if (!read.header) {
    refuse_proxied(socket, listener, proxy, read.refusal, read.detail);
    co_return;
  }
  // LOCAL (the balancer's health check) and headers without a TCP address keep the proxy's.
  const std::string client = read.header->source_address.value_or(proxy);
  const bool local = read.header->command == ProxyHeader::Command::Local;
  log::debug("proxy_header", {{"client", client}, {"proxy", proxy}, {"command", local ? "local" : "proxy"}});
  // Named, not temporaries in the awaited calls (GCC 12).
  std::optional<std::string> proxied_client = client;
  auto slot = limiter.acquire(client);
  if (!slot) {
    std::string reason = "connection limit";
    co_await refuse_session(std::move(socket), std::move(reason), std::move(proxied_client));
    co_return;
  }
  co_await run_session(std::move(socket), std::move(settings), services, std::move(*slot), std::move(proxied_client));
}

}  // namespace

Listener::Listener(asio::io_context& io, const std::string& address, std::uint16_t port,
                   SessionSettings settings)
    : io_(io), acceptor_(io), unix_acceptor_(io), settings_(std::move(settings)),
      name_(address + ":" + std::to_string(port)) {
  tcp::endpoint endpoint{asio::ip::make_address(address), port};
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + name_ + ": " + ec.message());
}

Listener::Listener(asio::io_context& io, const std::string& path, SessionSettings settings)
    : io_(io), acceptor_(io), unix_acceptor_(io), path_(path), settings_(std::move(settings)), name_("unix:" + path) {
  struct stat existing {};
  if (::lstat(path.c_str(), &existing) == 0 && S_ISSOCK(existing.st_mode)) ::unlink(path.c_str());
  boost::system::error_code ec;
  unix_acceptor_.open(asio::local::stream_protocol{}, ec);
  if (!ec) unix_acceptor_.bind(asio::local::stream_protocol::endpoint{path}, ec);
  if (!ec && ::chmod(path.c_str(), 0666) != 0) ec.assign(errno, boost::system::system_category());
  if (!ec) unix_acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + name_ + ": " + ec.message());
}

void Listener::start(ConnectionLimiter& limiter, SessionServices& services) {
  asio::co_spawn(io_, accept_loop(shared_from_this(), limiter, services), asio::detached);
}

void Listener::close() {
  if (closed_.exchange(true)) return;
  // shutdown() takes the socket out of the listening state (the kernel refuses new connections)
  // and fails the pending accept, without changing the acceptor object that the accept loop may
  // be using on another thread.
  const int socket = path_.empty() ? acceptor_.native_handle() : unix_acceptor_.native_handle();
  ::shutdown(socket, SHUT_RDWR);
  if (!path_.empty()) ::unlink(path_.c_str());
}

void Listener::close_acceptor() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  unix_acceptor_.close(ignored);
}

bool Listener::is_open() const { return path_.empty() ? acceptor_.is_open() : unix_acceptor_.is_open(); }

asio::awaitable<tcp::socket> Listener::accept(const asio::any_io_executor& strand, boost::system::error_code& ec) {
  if (path_.empty()) {
    tcp::socket socket = co_await acceptor_.async_accept(strand, asio::redirect_error(asio::use_awaitable, ec));
    co_return socket;
  }
  asio::local::stream_protocol::socket accepted =
      co_await unix_acceptor_.async_accept(strand, asio::redirect_error(asio::use_awaitable, ec));
  tcp::socket socket{strand};
  if (!ec) socket.assign(tcp::v6(), accepted.release(), ec);
  co_return socket;
}

asio::awaitable<void> Listener::accept_loop([[maybe_unused]] std::shared_ptr<Listener> self,
                                            ConnectionLimiter& limiter, SessionServices& services) {
  for (;;) {
    boost::system::error_code ec;
    auto strand = asio::make_strand(io_);
    tcp::socket socket = co_await accept(strand, ec);
    if (ec) {
      if (closed_) {
        close_acceptor();
        co_return;
      }
      if (!is_open()) co_return;
      log::warning("accept_failed", {{"listener", name_}, {"error", ec.message()}});
      // Out of file descriptors and the like: back off instead of spinning.
      asio::steady_timer pause{io_, std::chrono::milliseconds{100}};
      co_await pause.async_wait(asio::use_awaitable);
      continue;
    }
    auto settings = settings_.get();
    if (settings->proxy_protocol) {
      asio::co_spawn(strand, proxied_session(std::move(socket), std::move(settings), limiter, services, name_),
                     log_session_failure);
      continue;
    }
    boost::system::error_code peer_ec;
    auto peer = socket.remote_endpoint(peer_ec);
    std::string address = !path_.empty() ? "local" : peer_ec ? "unknown" : peer.address().to_string();
    auto slot = limiter.acquire(address);
    if (!slot) {
      asio::co_spawn(strand, refuse_session(std::move(socket), "connection limit", std::nullopt), asio::detached);
      continue;
    }
    asio::co_spawn(strand, run_session(std::move(socket), std::move(settings), services, std::move(*slot), std::nullopt),
                   log_session_failure);
  }
}

}  // namespace postern::net
