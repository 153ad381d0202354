// See upstream_session.hpp.
#include "server/delivery/upstream_session.hpp"

#include "server/delivery/upstream_tls.hpp"
#include "server/runtime/log.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <algorithm>
#include <exception>
#include <stdexcept>

namespace postern::delivery {
namespace asio = boost::asio;
using net::Transport;

namespace {

constexpr std::size_t kBodyPiece = 64 * 1024;
constexpr std::chrono::seconds kQuitLimit{10};
constexpr std::chrono::seconds kCloseLimit{5};

smtp_client::ProtocolOptions protocol_options(const Upstream& upstream, std::string ehlo_name) {
  smtp_client::ProtocolOptions options;
  options.peer = upstream.host + ":" + std::to_string(upstream.port);
  options.ehlo_name = std::move(ehlo_name);
  options.security = upstream.security == UpstreamSecurity::Tls        ? smtp_client::Security::ImplicitTls
                   : upstream.security == UpstreamSecurity::StartTls ? smtp_client::Security::StartTls
                                                                     : smtp_client::Security::None;
  options.username = upstream.username;
  options.password = upstream.password;
  return options;
}

smtp_client::Envelope envelope_of(const OutboundMessage& message) {
  smtp_client::Envelope envelope;
  envelope.sender = message.sender;
  envelope.recipients = message.recipients;
  envelope.size = message.body->size_as_sent();
  envelope.eight_bit_mime = message.eight_bit_mime;
  envelope.smtputf8 = message.smtputf8;
  return envelope;
}

}  // namespace

UpstreamSession::UpstreamSession(asio::any_io_executor executor, const Upstream& upstream, std::string ehlo_name,
                                 std::shared_ptr<asio::ssl::context> tls)
    : executor_(std::move(executor)),
      upstream_(upstream),
      tls_(std::move(tls)),
      transport_(executor_, tls_),
      protocol_(protocol_options(upstream_, std::move(ehlo_name))),
      limit_(std::max(1u, upstream_.timeout_seconds)),
      reply_limit_(limit_) {}

asio::awaitable<smtp_client::TransactionResult> UpstreamSession::deliver(const OutboundMessage& message) {
  const std::size_t count = message.recipients.size();
  const bool reused = protocol_.reusable();
  smtp_client::TransactionResult result;
  try {
    if (message.body == nullptr) {
      result = smtp_client::failed_attempt(count, "4.3.0", "no message data");
    } else if (upstream_.security != UpstreamSecurity::None && !tls_) {
      result = smtp_client::failed_attempt(count, "4.7.5", "no TLS context");
    } else {
      protocol_.begin(envelope_of(message));
      result = co_await run_transaction(*message.body);
    }
  } catch (const BodyUnreadable& e) {
    // Part of the message went out: hang up, so that the upstream never sees its end of data.
    protocol_.quit();
    transport_.close_now();
    result = smtp_client::failed_attempt(count, "4.3.0", e.what());
  } catch (const std::exception& e) {
    protocol_.quit();  // in the middle of something: hang up
    result = smtp_client::failed_attempt(count, "4.3.0", std::string("internal error: ") + e.what());
  }
  if (!result.error.empty()) {
    log::info("upstream_attempt_failed", {{"upstream", upstream_.name}, {"error", result.error},
                                          {"reused", reused ? "yes" : "no"}});
  }
  co_return result;
}

asio::awaitable<void> UpstreamSession::quit() {
  const bool open = transport_.is_open();
  protocol_.quit();
  reply_limit_ = std::min(limit_, kQuitLimit);
  try {
    for (;;) {
      const smtp_client::Step step = protocol_.next();
      if (const auto* close = std::get_if<smtp_client::Close>(&step)) {
        if (close->polite) co_await transport_.close(Transport::after(std::min(limit_, kCloseLimit)));
        break;
      }
      if (std::holds_alternative<smtp_client::Idle>(step)) break;  // cannot happen after quit()
      co_await perform(step, nullptr);
    }
  } catch (const std::exception&) {
  }
  transport_.close_now();
  if (open) {
    log::debug("upstream_closed", {{"upstream", upstream_.name},
                                   {"transactions", std::to_string(protocol_.transactions())}});
  }
}

// The loop: every step the protocol asks for, until the transaction is over.
asio::awaitable<smtp_client::TransactionResult> UpstreamSession::run_transaction(BodySource& body) {
  for (;;) {
    smtp_client::Step step = protocol_.next();
    if (auto* done = std::get_if<smtp_client::TransactionDone>(&step)) co_return std::move(done->result);
    if (std::holds_alternative<smtp_client::Idle>(step) || std::holds_alternative<smtp_client::Close>(step)) {
      throw std::logic_error("the protocol stopped before the transaction ended");
    }
    co_await perform(step, &body);
  }
}

asio::awaitable<void> UpstreamSession::perform(const smtp_client::Step& step, BodySource* body) {
  if (std::holds_alternative<smtp_client::Connect>(step)) {
    co_await connect();
  } else if (const auto* send = std::get_if<smtp_client::SendCommands>(&step)) {
    co_await write(send->bytes);
  } else if (const auto* read_step = std::get_if<smtp_client::ReadReply>(&step)) {
    co_await read(*read_step);
  } else if (std::holds_alternative<smtp_client::TlsHandshake>(step)) {
    co_await handshake();
  } else if (std::holds_alternative<smtp_client::SendBody>(step) && body != nullptr) {
    co_await send_body(*body);
  } else if (const auto* ready = std::get_if<smtp_client::SessionReady>(&step)) {
    log_ready(*ready);
  }
}

asio::awaitable<void> UpstreamSession::connect() {
  std::string error = co_await transport_.connect(upstream_.host, upstream_.port, Transport::after(limit_));
  if (error.empty()) {
    protocol_.connected();
    co_return;
  }
  const bool resolving = transport_.resolve_failed();
  if (!resolving) log::debug("upstream_connect_failed", {{"upstream", upstream_.name}, {"error", error}});
  protocol_.connect_failed(resolving ? smtp_client::ConnectFailure::Resolve : smtp_client::ConnectFailure::Connect,
                           std::move(error));
}

asio::awaitable<bool> UpstreamSession::write(std::string_view bytes) {
  const boost::system::error_code ec = co_await transport_.write(bytes, Transport::after(limit_));
  if (ec) report_failure(ec);
  co_return !ec;
}

// One deadline per reply, set when its first byte is awaited.
asio::awaitable<void> UpstreamSession::read(const smtp_client::ReadReply& step) {
  if (!reading_ || step.reply_number != reply_number_) {
    reading_ = true;
    reply_number_ = step.reply_number;
    reply_deadline_ = Transport::after(step.end_of_data ? limit_ * 10 : reply_limit_);
  }
  boost::system::error_code ec;
  const std::size_t n = co_await transport_.read_some(buffer_.data(), buffer_.size(), reply_deadline_, ec);
  if (ec) report_failure(ec);
  else protocol_.receive(std::string_view(buffer_.data(), n));
}

asio::awaitable<void> UpstreamSession::handshake() {
  SSL* ssl = transport_.native_handle();
  const TlsPeer peer = tls_peer(upstream_);
  prepare_upstream_tls(ssl, peer);
  const boost::system::error_code ec = co_await transport_.handshake(Transport::after(limit_));
  if (!ec) protocol_.tls_started();
  else protocol_.tls_failed(upstream_tls_failure(ssl, peer, ec, transport_.timed_out()));
}

// The message piece by piece as its source yields them, each written dot-stuffed (in slices of
// kBodyPiece) before the next is pulled; the end of data goes out with the last slice.
asio::awaitable<void> UpstreamSession::send_body(BodySource& body) {
  if (body.finished()) {  // an empty message
    const std::string end = protocol_.body_end();
    co_await write(end);
    co_return;
  }
  while (!body.finished()) {
    const std::string piece = co_await body.next_piece();
    const bool last_piece = body.finished();
    for (std::size_t pos = 0; pos < piece.size();) {
      const std::size_t take = std::min(kBodyPiece, piece.size() - pos);
      std::string out = protocol_.body_piece(std::string_view(piece).substr(pos, take));
      pos += take;
      if (last_piece && pos == piece.size()) out += protocol_.body_end();
      // Awaited outside the if: GCC 12 miscompiles a member coroutine awaited in an if condition.
      const bool written = co_await write(out);
      if (!written) co_return;
    }
  }
}

void UpstreamSession::report_failure(const boost::system::error_code& ec) {
  if (transport_.timed_out()) protocol_.connection_failed(smtp_client::IoFailure::Timeout);
  else if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
    protocol_.connection_failed(smtp_client::IoFailure::Closed);
  } else {
    protocol_.connection_failed(smtp_client::IoFailure::Error, ec.message());
  }
}

void UpstreamSession::log_ready(const smtp_client::SessionReady& ready) const {
  log::info("upstream_session", {{"upstream", upstream_.name},
                                 {"peer", upstream_.host + ":" + std::to_string(upstream_.port)},
                                 {"tls", transport_.encrypted() ? transport_.tls_version() : "none"},
                                 {"auth", ready.auth_mechanism.empty() ? "none" : ready.auth_mechanism},
                                 {"pipelining", ready.pipelining ? "yes" : "no"}});
}

}  // namespace postern::delivery
