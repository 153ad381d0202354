// See listener.hpp.
#include "server/net/listener.hpp"

#include "server/runtime/log.hpp"

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
    boost::system::error_code peer_ec;
    auto peer = socket.remote_endpoint(peer_ec);
    std::string address = !path_.empty() ? "local" : peer_ec ? "unknown" : peer.address().to_string();
    auto slot = limiter.acquire(address);
    if (!slot) {
      asio::co_spawn(strand, refuse_session(std::move(socket), "connection limit"), asio::detached);
      continue;
    }
    asio::co_spawn(strand, run_session(std::move(socket), settings_.get(), services, std::move(*slot)),
                   [](std::exception_ptr error) {
                     if (!error) return;
                     try {
                       std::rethrow_exception(error);
                     } catch (const std::exception& e) {
                       log::error("session_failed", {{"error", e.what()}});
                     }
                   });
  }
}

}  // namespace postern::net
