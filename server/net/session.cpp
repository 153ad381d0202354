// See session.hpp.
#include "server/net/session.hpp"

#include "server/auth/credential_check.hpp"
#include "server/net/tls_context.hpp"
#include "server/policy/grant_check.hpp"
#include "server/queue/message_intake.hpp"
#include "server/runtime/log.hpp"
#include "server/runtime/metrics.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>

#include <array>

namespace postern::net {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// The socket, plain until a handshake, then through TLS; and a deadline that cancels whatever
// I/O is pending when it expires.
class Connection {
 public:
  Connection(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls)
      : tls_context_(std::move(tls)),
        stream_(std::move(socket), tls_context_ ? *tls_context_ : fallback_context()),
        deadline_(stream_.get_executor()) {}

  bool encrypted() const { return encrypted_; }
  bool timed_out() const { return timed_out_; }
  tcp::socket& socket() { return stream_.next_layer(); }

  asio::awaitable<std::size_t> read_some(char* data, std::size_t size, std::chrono::seconds limit,
                                         boost::system::error_code& ec) {
    arm(limit);
    std::size_t n = encrypted_
        ? co_await stream_.async_read_some(asio::buffer(data, size), asio::redirect_error(asio::use_awaitable, ec))
        : co_await socket().async_read_some(asio::buffer(data, size), asio::redirect_error(asio::use_awaitable, ec));
    deadline_.cancel();
    co_return n;
  }

  asio::awaitable<bool> write(const std::string& bytes, std::chrono::seconds limit) {
    boost::system::error_code ec;
    arm(limit);
    if (encrypted_) co_await asio::async_write(stream_, asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
    else co_await asio::async_write(socket(), asio::buffer(bytes), asio::redirect_error(asio::use_awaitable, ec));
    deadline_.cancel();
    co_return !ec;
  }

  asio::awaitable<bool> handshake(std::chrono::seconds limit) {
    boost::system::error_code ec;
    arm(limit);
    co_await stream_.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    deadline_.cancel();
    metrics::smtp().tls_handshakes.inc(ec ? "failed" : "ok");
    if (ec) {
      log::info("tls_failed", {{"error", ec.message()}});
      co_return false;
    }
    encrypted_ = true;
    co_return true;
  }

  asio::awaitable<void> close() {
    if (encrypted_) {
      boost::system::error_code ec;
      arm(std::chrono::seconds{5});
      co_await stream_.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
      deadline_.cancel();
    }
    boost::system::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }

  // Shutdown past the grace period: stop waiting for the client; the session then says 421
  // and closes.
  void abort() {
    aborted_ = true;
    boost::system::error_code ignored;
    socket().cancel(ignored);
  }
  bool aborted() const { return aborted_; }

  std::string tls_version() { return encrypted_ ? SSL_get_version(stream_.native_handle()) : ""; }
  std::string tls_cipher() { return encrypted_ ? SSL_get_cipher_name(stream_.native_handle()) : ""; }

 private:
  static asio::ssl::context& fallback_context() {
    // The stream type needs a context even when TLS is never offered.
    static asio::ssl::context unused{asio::ssl::context::tls_server};
    return unused;
  }

  void arm(std::chrono::seconds limit) {
    deadline_.expires_after(limit);
    deadline_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;  // cancelled: the I/O finished in time
      timed_out_ = true;
      boost::system::error_code ignored;
      socket().cancel(ignored);
    });
  }

  std::shared_ptr<asio::ssl::context> tls_context_;
  asio::ssl::stream<tcp::socket> stream_;
  asio::steady_timer deadline_;
  bool encrypted_ = false;
  bool timed_out_ = false;
  bool aborted_ = false;
};

std::string peer_address(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

bool is_loopback(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto address = socket.remote_endpoint(ec).address();
  if (ec) return false;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address.is_loopback();
}

}  // namespace

asio::awaitable<void> run_session(tcp::socket socket, const SessionSettings& settings,
                                  SessionServices& services, ConnectionLimiter::Slot slot) {
  // Held for the whole session: its place in the connection limits is given back at the end.
  const ConnectionLimiter::Slot held = std::move(slot);
  const metrics::OpenConnection counted;
  const std::string client = peer_address(socket);
  smtp::ProtocolOptions options = settings.protocol;
  options.tls_available = services.tls != nullptr;
  options.tls_active = settings.implicit_tls;
  options.auth_without_tls = settings.allow_plaintext_auth_on_loopback && is_loopback(socket);

  auto shared = std::make_shared<Connection>(std::move(socket), services.tls ? services.tls->current() : nullptr);
  Connection& connection = *shared;
  // A shutdown past its grace period cuts the connection, on the session's own strand.
  auto registration = services.registry.add(
      [weak = std::weak_ptr<Connection>(shared), executor = connection.socket().get_executor()] {
        asio::post(executor, [weak] {
          if (auto alive = weak.lock()) alive->abort();
        });
      });
  log::info("connect", {{"client", client}, {"tls", settings.implicit_tls ? "implicit" : "none"}});

  const auto started = std::chrono::steady_clock::now();
  std::string reason = "client quit";
  if (settings.implicit_tls && !co_await connection.handshake(settings.handshake_timeout)) {
    co_await connection.close();
    log::info("disconnect", {{"client", client}, {"reason", "TLS handshake failed"}});
    co_return;
  }

  smtp::Protocol protocol{options};
  schema::UserGrants grants;  // from the MAIL FROM check, reused for the header From check
  std::string pending;        // replies not yet written
  std::array<char, 16384> buffer;
  bool in_data = false;
  unsigned messages = 0;

  auto flush = [&]() -> asio::awaitable<bool> {
    if (pending.empty()) co_return true;
    bool ok = co_await connection.write(pending, settings.command_timeout);
    pending.clear();
    co_return ok;
  };

  for (bool open = true; open;) {
    smtp::Step step = protocol.next();
    if (auto* send = std::get_if<smtp::SendReply>(&step)) {
      // A reply right after 354 without AcceptMessage: the protocol refused the data itself.
      if (in_data) {
        metrics::smtp().messages_rejected.inc(send->reply.code == 552 ? "size" : "bad_data");
        log::info("message_rejected", {{"client", client}, {"user", protocol.authenticated_user()},
                                       {"reason", send->reply.lines.empty() ? "" : send->reply.lines.front()}});
      }
      in_data = send->reply.code == 354;
      pending += send->reply.wire();
    } else if (std::holds_alternative<smtp::NeedInput>(step)) {
      if (!co_await flush()) { reason = "write failed"; break; }
      boost::system::error_code ec;
      auto limit = in_data ? settings.data_timeout : settings.command_timeout;
      std::size_t n = connection.aborted()
          ? 0 : co_await connection.read_some(buffer.data(), buffer.size(), limit, ec);
      if (connection.aborted()) {
        // RFC 5321 §3.8: a server that must close says 421 first.
        pending = smtp::Reply::line(421, "4.3.2", "Service shutting down").wire();
        co_await flush();
        reason = "shutdown";
        break;
      }
      if (connection.timed_out()) {
        pending = smtp::Reply::line(421, "4.4.2", "Timeout").wire();
        co_await flush();
        reason = "timeout";
        break;
      }
      if (ec) { reason = ec == asio::error::eof ? "client closed" : ec.message(); break; }
      protocol.receive(std::string_view(buffer.data(), n));
    } else if (std::holds_alternative<smtp::StartTls>(step)) {
      if (!co_await flush() || !co_await connection.handshake(settings.handshake_timeout)) {
        reason = "STARTTLS handshake failed";
        break;
      }
      protocol.tls_started();
    } else if (auto* credentials = std::get_if<smtp::VerifyCredentials>(&step)) {
      if (!co_await flush()) { reason = "write failed"; break; }
      protocol.credentials_checked(co_await services.credentials.verify(*credentials, client));
    } else if (auto* sender = std::get_if<smtp::CheckSender>(&step)) {
      if (!co_await flush()) { reason = "write failed"; break; }
      auto result = co_await services.grants.check(sender->user, sender->address);
      if (result.outcome != smtp::SenderOutcome::Allowed) {
        metrics::smtp().messages_rejected.inc(result.outcome == smtp::SenderOutcome::Denied ? "sender_denied" : "sender_temp_failure");
        log::info("sender_refused", {{"client", client}, {"user", sender->user},
                                     {"sender", sender->address}, {"reason", result.detail}});
      }
      grants = std::move(result.grants);
      protocol.sender_checked(result.outcome);
    } else if (auto* message = std::get_if<smtp::AcceptMessage>(&step)) {
      in_data = false;
      queue::SessionFacts facts{client, connection.encrypted(), connection.tls_version(), connection.tls_cipher()};
      auto reply = co_await services.intake.accept(std::move(message->envelope), facts, grants);
      if (reply.code == 250) ++messages;
      protocol.message_handled(std::move(reply));
    } else {  // Close
      co_await flush();
      open = false;
    }
  }
  co_await connection.close();
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  log::info("disconnect", {{"client", client}, {"user", protocol.authenticated_user()},
                           {"messages", std::to_string(messages)}, {"reason", reason},
                           {"seconds", std::to_string(seconds)}});
}

asio::awaitable<void> refuse_session(tcp::socket socket, std::string reason) {
  const std::string client = peer_address(socket);
  log::warning("connection_refused", {{"client", client}, {"reason", reason}});
  Connection connection{std::move(socket), nullptr};
  co_await connection.write(smtp::Reply::line(421, "4.7.0", "Too many connections, try again later").wire(),
                            std::chrono::seconds{5});
  co_await connection.close();
}

}  // namespace postern::net
