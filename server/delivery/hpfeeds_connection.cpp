// See hpfeeds_connection.hpp.
#include "server/delivery/hpfeeds_connection.hpp"

#include "server/delivery/upstream_tls.hpp"
#include "server/hpfeeds/auth_hash.hpp"
#include "server/hpfeeds/decode.hpp"
#include "server/hpfeeds/encode.hpp"
#include "server/runtime/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>

namespace postern::delivery {
namespace asio = boost::asio;
using net::Transport;

namespace {

constexpr std::chrono::seconds kCloseLimit{5};
// How long a failed write waits for the reader to find the broker's OP_ERROR.
constexpr std::chrono::seconds kLastWordsLimit{1};
constexpr std::size_t kMaxBrokerText = 300;

// The broker's OP_ERROR text as a detail: it goes to the log and into the queue's text columns,
// so printable ASCII only (anything else becomes '?'), and bounded.
std::string broker_text(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, kMaxBrokerText)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
  if (text.size() > kMaxBrokerText) out += "...";
  return out;
}

bool closed_by_peer(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

}  // namespace

HpfeedsConnection::HpfeedsConnection(asio::any_io_executor strand, std::shared_ptr<const Upstream> upstream,
                                     std::shared_ptr<asio::ssl::context> tls, LostHandler on_lost)
    : upstream_(std::move(upstream)),
      peer_(upstream_->host + ":" + std::to_string(upstream_->port)),
      transport_(strand, std::move(tls)),
      on_lost_(std::move(on_lost)),
      write_watchdog_(strand),
      failure_wait_(strand) {}

asio::awaitable<std::string> HpfeedsConnection::open() {
  auto self = shared_from_this();
  std::string error = co_await connect_and_handshake();
  std::string nonce;
  if (error.empty()) error = co_await read_info(nonce);
  if (error.empty()) {
    const HpfeedsSettings& settings = upstream_->hpfeeds;
    const std::string auth = hpfeeds::encode_auth(settings.ident, hpfeeds::auth_hash(nonce, settings.secret));
    const auto limit = std::chrono::seconds{std::max(1u, upstream_->timeout_seconds)};
    const boost::system::error_code ec = co_await transport_.write(auth, Transport::after(limit));
    if (transport_.timed_out()) error = "hpfeeds: timed out writing to " + peer_;
    else if (ec) error = "hpfeeds: writing to " + peer_ + " failed: " + ec.message();
  }
  if (error.empty()) {
    asio::co_spawn(transport_.executor(), watch(self), asio::detached);
    error = co_await wait_for_refusal();
  }
  if (!error.empty()) {
    if (failure_.empty()) failure_ = error;
    closing_ = true;
    transport_.close_now();
    co_return error;
  }
  logged_in_ = true;
  log::info("hpfeeds_login", {{"upstream", upstream_->name}, {"server", peer_}, {"broker", broker_name_},
                              {"ident", upstream_->hpfeeds.ident},
                              {"tls", transport_.encrypted() ? transport_.tls_version() : "none"}});
  co_return "";
}

asio::awaitable<std::string> HpfeedsConnection::connect_and_handshake() {
  const auto limit = std::chrono::seconds{std::max(1u, upstream_->timeout_seconds)};
  std::string error = co_await transport_.connect(upstream_->host, upstream_->port, Transport::after(limit));
  if (!error.empty() || upstream_->security != UpstreamSecurity::Tls) co_return error;
  SSL* ssl = transport_.native_handle();
  const TlsPeer peer = tls_peer(*upstream_);
  prepare_upstream_tls(ssl, peer);
  const boost::system::error_code ec = co_await transport_.handshake(Transport::after(limit));
  if (!ec) co_return "";
  co_return "TLS handshake with " + peer_ + " failed: " + upstream_tls_failure(ssl, peer, ec, transport_.timed_out());
}

// The broker speaks first, once: its name and the nonce the AUTH hash covers.
asio::awaitable<std::string> HpfeedsConnection::read_info(std::string& nonce) {
  const Transport::Deadline deadline = Transport::after(std::chrono::seconds{std::max(1u, upstream_->timeout_seconds)});
  for (;;) {
    if (std::optional<hpfeeds::Frame> frame = reader_.next()) {
      if (frame->opcode == hpfeeds::Opcode::Error) co_return "hpfeeds broker: " + broker_text(frame->body);
      if (frame->opcode != hpfeeds::Opcode::Info) {
        co_return "hpfeeds: broker " + peer_ + " sent " + hpfeeds::opcode_name(frame->opcode) + " before OP_INFO";
      }
      hpfeeds::Decoded<hpfeeds::Info> info = hpfeeds::decode_info(frame->body);
      if (!info) co_return "hpfeeds: broker " + peer_ + " sent a " + info.error;
      broker_name_ = std::move(info.value->broker_name);
      nonce = std::move(info.value->nonce);
      co_return "";
    }
    if (reader_.failed()) co_return "hpfeeds: malformed data from broker " + peer_ + ": " + reader_.error();
    boost::system::error_code ec;
    const std::size_t n = co_await transport_.read_some(buffer_.data(), buffer_.size(), deadline, ec);
    if (transport_.timed_out()) {
      const std::string limit = std::to_string(upstream_->timeout_seconds);
      co_return "hpfeeds: no INFO from broker " + peer_ + " within " + limit + " s";
    }
    if (closed_by_peer(ec)) co_return "hpfeeds: broker " + peer_ + " closed the connection before OP_INFO";
    if (ec) co_return "hpfeeds: reading OP_INFO from " + peer_ + " failed: " + ec.message();
    reader_.feed(std::string_view(buffer_.data(), n));
  }
}

// AUTH gets no reply: a refused login shows as an OP_ERROR and a close soon after. Waiting for
// that before the first PUBLISH reports the broker's own words, and sends no message to a broker
// that did not take the login.
asio::awaitable<std::string> HpfeedsConnection::wait_for_refusal() {
  co_await wait_for_failure(std::chrono::milliseconds{upstream_->hpfeeds.error_grace_milliseconds});
  co_return failure_;
}

asio::awaitable<void> HpfeedsConnection::wait_for_failure(std::chrono::steady_clock::duration limit) {
  if (broken() || limit <= limit.zero()) co_return;
  failure_wait_.expires_after(limit);
  boost::system::error_code ec;
  co_await failure_wait_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// The background reader. Nothing is due from the broker after INFO: it is read only for an
// OP_ERROR, a close, or garbage. Reads have no deadline (an idle connection is fine); the
// Transport's one deadline timer belongs to the writes in the meantime.
asio::awaitable<void> HpfeedsConnection::watch([[maybe_unused]] std::shared_ptr<HpfeedsConnection> keep_alive) {
  for (;;) {
    std::string why = check_frames();
    if (!why.empty()) fail(std::move(why));
    if (broken()) co_return;
    boost::system::error_code ec;
    const std::size_t n =
        co_await transport_.read_some(buffer_.data(), buffer_.size(), Transport::Deadline::max(), ec);
    if (broken()) co_return;
    if (closed_by_peer(ec)) {
      fail("hpfeeds: broker " + peer_ + " closed the connection");
      co_return;
    }
    if (ec) {
      fail("hpfeeds: connection to " + peer_ + " lost: " + ec.message());
      co_return;
    }
    reader_.feed(std::string_view(buffer_.data(), n));
  }
}

// The frames read so far: "" while they are harmless, else why the connection is over.
std::string HpfeedsConnection::check_frames() {
  while (std::optional<hpfeeds::Frame> frame = reader_.next()) {
    if (frame->opcode == hpfeeds::Opcode::Error) return "hpfeeds broker: " + broker_text(frame->body);
    log::debug("hpfeeds_frame_ignored", {{"upstream", upstream_->name}, {"server", peer_},
                                         {"opcode", hpfeeds::opcode_name(frame->opcode)}});
  }
  if (reader_.failed()) return "hpfeeds: malformed data from broker " + peer_ + ": " + reader_.error();
  return "";
}

// The Transport's deadline timer is shared by both directions, and the background reader's
// read is pending all along (with no deadline): a write's own deadline there would be undone by
// a read that completes. So each write has its own watchdog, which ends the connection.
asio::awaitable<std::string> HpfeedsConnection::write(std::string_view bytes) {
  auto self = shared_from_this();
  if (broken()) co_return failure_;
  const unsigned generation = ++write_generation_;
  write_watchdog_.expires_after(std::chrono::seconds{std::max(1u, upstream_->timeout_seconds)});
  write_watchdog_.async_wait([weak = weak_from_this(), generation](boost::system::error_code ec) {
    auto connection = weak.lock();
    if (ec || !connection || connection->write_generation_ != generation) return;
    connection->fail("hpfeeds: timed out writing to " + connection->peer_);
  });
  const boost::system::error_code ec = co_await transport_.write(bytes, Transport::Deadline::max());
  ++write_generation_;
  write_watchdog_.cancel();
  if (ec && !broken()) {
    // A broker that refuses a frame sends OP_ERROR and hangs up, and the frames after it then
    // fail to write ("Broken pipe") while its words may still be unread: give the reader a
    // moment to find them, so that they, not the pipe, are the reason. Not after TLS, whose
    // session is of no more use once a write failed.
    const std::string why = "hpfeeds: writing to " + peer_ + " failed: " + ec.message();
    if (!transport_.encrypted()) co_await wait_for_failure(kLastWordsLimit);
    fail(why);
  }
  co_return failure_;
}

asio::awaitable<void> HpfeedsConnection::close() {
  auto self = shared_from_this();
  if (closing_) co_return;
  closing_ = true;
  const bool was_open = failure_.empty();
  if (was_open) failure_ = "hpfeeds: connection to " + peer_ + " closed";
  failure_wait_.cancel();
  if (was_open) co_await transport_.close(Transport::after(kCloseLimit));
  transport_.close_now();
}

void HpfeedsConnection::fail(std::string why) {
  if (!failure_.empty()) return;
  failure_ = std::move(why);
  transport_.close_now();
  failure_wait_.cancel();
  if (logged_in_ && !closing_ && on_lost_) {
    LostHandler handler = std::move(on_lost_);
    on_lost_ = nullptr;
    handler(failure_);
  }
}

}  // namespace postern::delivery
