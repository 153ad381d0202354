// See transport.hpp.
#include "server/net/transport.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>

namespace postern::net {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// The stream type needs a context even on a connection that never does TLS.
asio::ssl::context& unused_context(Transport::Role role) {
  static asio::ssl::context server{asio::ssl::context::tls_server};
  static asio::ssl::context client{asio::ssl::context::tls_client};
  return role == Transport::Role::Server ? server : client;
}

asio::ip::address unmapped(asio::ip::address address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

}  // namespace

struct Transport::State : std::enable_shared_from_this<Transport::State> {
  State(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls, Role r)
      : context(std::move(tls)),
        stream(std::move(socket), context ? *context : unused_context(r)),
        resolver(stream.get_executor()),
        deadline(stream.get_executor()),
        executor(stream.get_executor()),
        role(r) {}

  tcp::socket& socket() { return stream.next_layer(); }

  // Starts the deadline of one operation. When it passes, the pending I/O is cancelled. An
  // expiry that was already queued when its operation finished belongs to an older generation
  // and is ignored, so it can never cancel the operation after it.
  void arm(Deadline when) {
    timed_out = false;
    const unsigned current = ++generation;
    deadline.expires_at(when);
    deadline.async_wait([weak = weak_from_this(), current](boost::system::error_code ec) {
      if (ec) return;  // cancelled: the operation finished in time
      auto self = weak.lock();
      if (!self || self->generation != current) return;
      self->timed_out = true;
      boost::system::error_code ignored;
      self->socket().cancel(ignored);
      self->resolver.cancel();
    });
  }

  void disarm() {
    ++generation;
    deadline.cancel();
  }

  std::shared_ptr<asio::ssl::context> context;
  asio::ssl::stream<tcp::socket> stream;
  tcp::resolver resolver;
  asio::steady_timer deadline;
  asio::any_io_executor executor;
  Role role;
  unsigned generation = 0;
  bool encrypted = false;
  bool timed_out = false;
  bool aborted = false;
  bool resolve_failed = false;
};

Transport::Transport(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls, Role role)
    : state_(std::make_shared<State>(std::move(socket), std::move(tls), role)) {}

Transport::Transport(asio::any_io_executor executor, std::shared_ptr<asio::ssl::context> tls)
    : state_(std::make_shared<State>(tcp::socket{executor}, std::move(tls), Role::Client)) {}

Transport::~Transport() = default;

asio::awaitable<std::string> Transport::connect(const std::string& host, std::uint16_t port, Deadline deadline) {
  auto s = state_;  // alive for the whole operation
  s->resolve_failed = false;
  boost::system::error_code ec;
  s->arm(deadline);
  auto endpoints = co_await s->resolver.async_resolve(host, std::to_string(port),
                                                      asio::redirect_error(asio::use_awaitable, ec));
  s->disarm();
  if (s->timed_out || ec) {
    s->resolve_failed = true;
    co_return "cannot resolve " + host + ": " + (s->timed_out ? std::string("timed out") : ec.message());
  }
  std::string last_error = "no address";
  for (const auto& entry : endpoints) {
    boost::system::error_code ignored;
    s->socket().close(ignored);
    ec = {};
    s->arm(deadline);
    co_await s->socket().async_connect(entry.endpoint(), asio::redirect_error(asio::use_awaitable, ec));
    s->disarm();
    if (!ec && !s->timed_out) {
      s->socket().set_option(tcp::no_delay(true), ignored);
      co_return "";
    }
    last_error = s->timed_out ? "timed out" : ec.message();
  }
  close_now();
  co_return "connect to " + host + ":" + std::to_string(port) + " failed: " + last_error;
}

bool Transport::resolve_failed() const { return state_->resolve_failed; }

asio::awaitable<std::size_t> Transport::read_some(char* data, std::size_t size, Deadline deadline,
                                                  boost::system::error_code& ec) {
  auto s = state_;
  if (s->aborted) {
    ec = asio::error::operation_aborted;
    co_return 0;
  }
  s->arm(deadline);
  // Each co_await in its own statement: GCC 12 miscompiles some inside ?: and ||.
  std::size_t n = 0;
  if (s->encrypted) {
    n = co_await s->stream.async_read_some(asio::buffer(data, size), asio::redirect_error(asio::use_awaitable, ec));
  } else {
    n = co_await s->socket().async_read_some(asio::buffer(data, size), asio::redirect_error(asio::use_awaitable, ec));
  }
  s->disarm();
  if (s->timed_out && !ec) ec = asio::error::timed_out;
  co_return ec ? 0 : n;
}

asio::awaitable<boost::system::error_code> Transport::write(std::string_view bytes, Deadline deadline) {
  auto s = state_;
  boost::system::error_code ec;
  s->arm(deadline);
  auto buffer = asio::buffer(bytes.data(), bytes.size());
  if (s->encrypted) co_await asio::async_write(s->stream, buffer, asio::redirect_error(asio::use_awaitable, ec));
  else co_await asio::async_write(s->socket(), buffer, asio::redirect_error(asio::use_awaitable, ec));
  s->disarm();
  if (s->timed_out && !ec) ec = asio::error::timed_out;
  co_return ec;
}

asio::awaitable<boost::system::error_code> Transport::handshake(Deadline deadline) {
  auto s = state_;
  boost::system::error_code ec;
  if (s->aborted) co_return asio::error::operation_aborted;
  if (!s->context) co_return asio::error::no_protocol_option;
  s->arm(deadline);
  const auto side = s->role == Role::Server ? asio::ssl::stream_base::server : asio::ssl::stream_base::client;
  co_await s->stream.async_handshake(side, asio::redirect_error(asio::use_awaitable, ec));
  s->disarm();
  if (s->timed_out && !ec) ec = asio::error::timed_out;
  if (!ec) s->encrypted = true;
  co_return ec;
}

asio::awaitable<void> Transport::close(Deadline deadline) {
  auto s = state_;
  if (s->encrypted && s->socket().is_open()) {
    boost::system::error_code ec;
    s->arm(deadline);
    co_await s->stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    s->disarm();
  }
  close_now();
}

void Transport::close_now() {
  boost::system::error_code ignored;
  state_->socket().shutdown(tcp::socket::shutdown_both, ignored);
  state_->socket().close(ignored);
}

void Transport::abort() {
  state_->aborted = true;
  boost::system::error_code ignored;
  state_->socket().cancel(ignored);
  state_->resolver.cancel();
}

bool Transport::is_open() const { return state_->socket().is_open(); }
bool Transport::encrypted() const { return state_->encrypted; }
bool Transport::timed_out() const { return state_->timed_out; }
bool Transport::aborted() const { return state_->aborted; }

std::string Transport::tls_version() const {
  return state_->encrypted ? SSL_get_version(state_->stream.native_handle()) : "";
}

std::string Transport::tls_cipher() const {
  return state_->encrypted ? SSL_get_cipher_name(state_->stream.native_handle()) : "";
}

SSL* Transport::native_handle() { return state_->stream.native_handle(); }
tcp::socket& Transport::socket() { return state_->socket(); }
const asio::any_io_executor& Transport::executor() const { return state_->executor; }

std::string Transport::peer_address() const {
  boost::system::error_code ec;
  auto endpoint = state_->socket().remote_endpoint(ec);
  if (ec) return "unknown";
  return unmapped(endpoint.address()).to_string();
}

bool Transport::peer_is_loopback() const {
  boost::system::error_code ec;
  auto endpoint = state_->socket().remote_endpoint(ec);
  return !ec && unmapped(endpoint.address()).is_loopback();
}

}  // namespace postern::net
