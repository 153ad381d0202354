// See listener.hpp.
#include "server/net/listener.hpp"

#include "server/runtime/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <stdexcept>
#include <utility>

namespace postern::net {
namespace asio = boost::asio;
using asio::ip::tcp;

Listener::Listener(asio::io_context& io, const std::string& address, std::uint16_t port,
                   SessionSettings settings)
    : io_(io), acceptor_(io), settings_(std::move(settings)), name_(address + ":" + std::to_string(port)) {
  tcp::endpoint endpoint{asio::ip::make_address(address), port};
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + name_ + ": " + ec.message());
}

void Listener::start(ConnectionLimiter& limiter, SessionServices& services) {
  asio::co_spawn(io_, accept_loop(limiter, services), asio::detached);
}

void Listener::close() {
  closed_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> Listener::accept_loop(ConnectionLimiter& limiter, SessionServices& services) {
  for (;;) {
    boost::system::error_code ec;
    auto strand = asio::make_strand(io_);
    tcp::socket socket = co_await acceptor_.async_accept(strand, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open() || closed_) co_return;
      log::warning("accept_failed", {{"listener", name_}, {"error", ec.message()}});
      // Out of file descriptors and the like: back off instead of spinning.
      asio::steady_timer pause{io_, std::chrono::milliseconds{100}};
      co_await pause.async_wait(asio::use_awaitable);
      continue;
    }
    boost::system::error_code peer_ec;
    auto peer = socket.remote_endpoint(peer_ec);
    std::string address = peer_ec ? "unknown" : peer.address().to_string();
    auto slot = limiter.acquire(address);
    if (!slot) {
      asio::co_spawn(strand, refuse_session(std::move(socket), "connection limit"), asio::detached);
      continue;
    }
    asio::co_spawn(strand, run_session(std::move(socket), settings_, services, std::move(*slot)),
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
