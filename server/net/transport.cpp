// See transport.hpp.
#include "server/net/transport.hpp"

#include <sys/socket.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <climits>
#include <memory>
#include <optional>

namespace postern::net {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// A connection of an LMTP listener on a unix socket, whose descriptor sits in a TCP socket
// object (listener.hpp): it has no IP address.
bool is_unix_socket(const asio::ip::tcp::socket& socket) {
  int domain = 0;
  socklen_t size = sizeof domain;
  auto& mutable_socket = const_cast<asio::ip::tcp::socket&>(socket);
  return ::getsockopt(mutable_socket.native_handle(), SOL_SOCKET, SO_DOMAIN, &domain, &size) == 0 &&
         domain == AF_UNIX;
}

asio::ip::address unmapped(asio::ip::address address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

}  // namespace

struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

// TLS runs on the socket itself: OpenSSL reads and writes its descriptor (non-blocking), and
// the coroutine waits for the socket whenever OpenSSL wants to read or write. No buffers stand
// between the two, so an idle TLS connection holds little more than OpenSSL's session state
// (its record buffers are released while idle).
struct Transport::State : std::enable_shared_from_this<Transport::State> {
  State(tcp::socket s, std::shared_ptr<asio::ssl::context> tls, Role r)
      : context(std::move(tls)),
        socket(std::move(s)),
        deadline(socket.get_executor()),
        executor(socket.get_executor()),
        role(r) {}

  // The TLS session, made at its first use (the handshake, or a client's settings just before).
  // Null without a context.
  SSL* tls() {
    // OpenSSL writes the socket with write(2): a peer that has gone must be an error (EPIPE), not
    // SIGPIPE, which would end the process. Asio's own writes never raise it; these would.
    static const bool no_sigpipe = std::signal(SIGPIPE, SIG_IGN) != SIG_ERR;
    (void)no_sigpipe;
    if (!ssl && context) {
      ssl.reset(SSL_new(context->native_handle()));
      if (!ssl) throw std::bad_alloc();
      SSL_set_mode(ssl.get(), SSL_MODE_RELEASE_BUFFERS);
      if (role == Role::Server) SSL_set_accept_state(ssl.get());
      else SSL_set_connect_state(ssl.get());
    }
    return ssl.get();
  }

  tcp::resolver& resolver() {
    if (!name_resolver) name_resolver.emplace(executor);
    return *name_resolver;
  }

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
      self->socket.cancel(ignored);
      if (self->name_resolver) self->name_resolver->cancel();
    });
  }

  void disarm() {
    ++generation;
    deadline.cancel();
  }

  std::shared_ptr<asio::ssl::context> context;
  tcp::socket socket;
  std::unique_ptr<SSL, SslFree> ssl;           // from tls() on
  std::optional<tcp::resolver> name_resolver;  // client connections only
  asio::steady_timer deadline;
  asio::any_io_executor executor;
  Role role;
  unsigned generation = 0;
  bool encrypted = false;
  bool timed_out = false;
  bool aborted = false;
  bool resolve_failed = false;
};

namespace {

// The error of an OpenSSL call that failed for good: what OpenSSL queued, else the system's
// (a reset), else a connection that ended without TLS's goodbye.
boost::system::error_code tls_error(int code) {
  if (code == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
  if (const unsigned long queued = ERR_get_error(); queued != 0) {
    // OpenSSL 3 reports a peer that vanished without close_notify this way.
    if (ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING) return asio::ssl::error::stream_truncated;
    return {static_cast<int>(queued), asio::error::get_ssl_category()};
  }
  if (code == SSL_ERROR_SYSCALL && errno != 0) return {errno, boost::system::system_category()};
  return asio::ssl::error::stream_truncated;
}

// Calls `call(ssl)` until it succeeds (a positive result, returned) or fails (0, with ec set),
// waiting for the socket each time OpenSSL wants to read or write.
template <class Call>
asio::awaitable<int> drive(tcp::socket& socket, SSL* ssl, Call call, boost::system::error_code& ec) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int result = call(ssl);
    if (result > 0) co_return result;
    const int code = SSL_get_error(ssl, result);
    if (code != SSL_ERROR_WANT_READ && code != SSL_ERROR_WANT_WRITE) {
      ec = tls_error(code);
      co_return 0;
    }
    const auto wanted = code == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write;
    co_await socket.async_wait(wanted, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return 0;
  }
}

// SSL_write takes an int: a larger write goes in slices.
constexpr std::size_t kTlsWriteSlice = 1 << 20;

}  // namespace

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
  auto endpoints = co_await s->resolver().async_resolve(host, std::to_string(port),
                                                      asio::redirect_error(asio::use_awaitable, ec));
  s->disarm();
  if (s->timed_out || ec) {
    s->resolve_failed = true;
    co_return "cannot resolve " + host + ": " + (s->timed_out ? std::string("timed out") : ec.message());
  }
  std::string last_error = "no address";
  for (const auto& entry : endpoints) {
    boost::system::error_code ignored;
    s->socket.close(ignored);
    ec = {};
    s->arm(deadline);
    co_await s->socket.async_connect(entry.endpoint(), asio::redirect_error(asio::use_awaitable, ec));
    s->disarm();
    if (!ec && !s->timed_out) {
      s->socket.set_option(tcp::no_delay(true), ignored);
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
    const int limit = static_cast<int>(std::min<std::size_t>(size, INT_MAX));
    n = static_cast<std::size_t>(co_await drive(
        s->socket, s->ssl.get(), [data, limit](SSL* ssl) { return SSL_read(ssl, data, limit); }, ec));
  } else {
    n = co_await s->socket.async_read_some(asio::buffer(data, size), asio::redirect_error(asio::use_awaitable, ec));
  }
  s->disarm();
  if (s->timed_out && !ec) ec = asio::error::timed_out;
  co_return ec ? 0 : n;
}

asio::awaitable<boost::system::error_code> Transport::write(std::string_view bytes, Deadline deadline) {
  auto s = state_;
  boost::system::error_code ec;
  s->arm(deadline);
  if (s->encrypted) {
    for (std::size_t done = 0; done < bytes.size() && !ec;) {
      const std::string_view slice = bytes.substr(done, kTlsWriteSlice);
      const int n = co_await drive(
          s->socket, s->ssl.get(),
          [slice](SSL* ssl) { return SSL_write(ssl, slice.data(), static_cast<int>(slice.size())); }, ec);
      done += static_cast<std::size_t>(n);
    }
  } else {
    co_await asio::async_write(s->socket, asio::buffer(bytes.data(), bytes.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
  }
  s->disarm();
  if (s->timed_out && !ec) ec = asio::error::timed_out;
  co_return ec;
}

asio::awaitable<boost::system::error_code> Transport::handshake(Deadline deadline) {
  auto s = state_;
  boost::system::error_code ec;
  if (s->aborted) co_return asio::error::operation_aborted;
  SSL* tls = s->tls();
  if (!tls) co_return asio::error::no_protocol_option;
  s->socket.non_blocking(true, ec);
  if (!ec && SSL_set_fd(tls, s->socket.native_handle()) != 1) ec = tls_error(SSL_ERROR_SSL);
  if (ec) co_return ec;
  s->arm(deadline);
  co_await drive(s->socket, tls, [](SSL* ssl) { return SSL_do_handshake(ssl); }, ec);
  s->disarm();
  if (s->timed_out && !ec) ec = asio::error::timed_out;
  if (!ec) s->encrypted = true;
  co_return ec;
}

// Our close_notify only: the peer's is not waited for, since the connection closes anyway.
asio::awaitable<void> Transport::close(Deadline deadline) {
  auto s = state_;
  if (s->encrypted && s->socket.is_open()) {
    boost::system::error_code ec;
    s->arm(deadline);
    co_await drive(s->socket, s->ssl.get(), [](SSL* ssl) { return SSL_shutdown(ssl) >= 0 ? 1 : -1; }, ec);
    s->disarm();
  }
  close_now();
}

void Transport::close_now() {
  boost::system::error_code ignored;
  state_->socket.shutdown(tcp::socket::shutdown_both, ignored);
  state_->socket.close(ignored);
}

void Transport::abort() {
  state_->aborted = true;
  boost::system::error_code ignored;
  state_->socket.cancel(ignored);
  if (state_->name_resolver) state_->name_resolver->cancel();
}

bool Transport::is_open() const { return state_->socket.is_open(); }
bool Transport::encrypted() const { return state_->encrypted; }
bool Transport::timed_out() const { return state_->timed_out; }
bool Transport::aborted() const { return state_->aborted; }

std::string Transport::tls_version() const {
  return state_->encrypted ? SSL_get_version(state_->ssl.get()) : "";
}

std::string Transport::tls_cipher() const {
  return state_->encrypted ? SSL_get_cipher_name(state_->ssl.get()) : "";
}

SSL* Transport::native_handle() { return state_->tls(); }
tcp::socket& Transport::socket() { return state_->socket; }
const asio::any_io_executor& Transport::executor() const { return state_->executor; }

std::string Transport::peer_address() const {
  if (is_unix_socket(state_->socket)) return "local";
  boost::system::error_code ec;
  auto endpoint = state_->socket.remote_endpoint(ec);
  if (ec) return "unknown";
  return unmapped(endpoint.address()).to_string();
}

bool Transport::peer_is_loopback() const {
  if (is_unix_socket(state_->socket)) return true;
  boost::system::error_code ec;
  auto endpoint = state_->socket.remote_endpoint(ec);
  return !ec && unmapped(endpoint.address()).is_loopback();
}

}  // namespace postern::net
