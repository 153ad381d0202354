// One connection to an SMTP upstream (a provider's submission port, a smarthost), carrying any
// number of messages, one transaction each: the client protocol (server/smtp_client) driven over
// one Transport (server/net/transport.hpp). UpstreamPool (upstream_pool.hpp) owns the sessions;
// the delivery engine talks to the pool, not to a session.
//
//   auto session = std::make_shared<UpstreamSession>(strand, upstream, "relay.example", tls);
//   smtp_client::TransactionResult result = co_await session->deliver(message);
//   if (!session->reusable()) co_await session->quit();
//
// This file only performs what the protocol asks (connect, write, read, TLS, the body) and logs;
// every protocol decision and every failure text is the protocol's, but one: a message whose
// bytes cannot be read (BodyUnreadable from its source) in the middle of the body makes the
// session hang up — the upstream never gets the end of data of a truncated message — and the
// attempt fails temporarily. The body streams: each piece pulled from the message's BodySource
// (body_source.hpp) is written, dot-stuffed, before the next is pulled. Deadlines: the upstream's
// timeout_seconds for the connect, the TLS handshake, each write and each whole reply (a server
// that trickles bytes does not extend it); the reply to the end of the message data gets ten
// times as long (RFC 5321 §4.5.3.2.6: 10 minutes with the default 60 s), since that is when the
// upstream does its work.
#pragma once

#include "server/delivery/body_source.hpp"
#include "server/delivery/upstream.hpp"
#include "server/net/transport.hpp"
#include "server/smtp_client/protocol.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace postern::delivery {

struct OutboundMessage {
  std::string sender;                   // envelope MAIL FROM; "" = null sender (DSNs)
  std::vector<std::string> recipients;  // envelope RCPT TO, in order
  // The message bytes (CRLF lines, not dot-stuffed), pulled after the 354. Read at most once: a
  // stale session is retried (UpstreamPool) only before the body was started.
  BodySource* body = nullptr;
  bool eight_bit_mime = false;          // add BODY=8BITMIME when the server offers 8BITMIME
  bool smtputf8 = false;                // add SMTPUTF8 (fail permanently 5.6.7 if not offered)
};

class UpstreamSession {
 public:
  // executor: the strand that every operation of this session runs on; co_await its
  // awaitables only there (UpstreamPool co_spawns them there). tls: from
  // make_upstream_tls_context() (upstream_tls.hpp), null when upstream.security is None.
  UpstreamSession(boost::asio::any_io_executor executor, const Upstream& upstream, std::string ehlo_name,
                  std::shared_ptr<boost::asio::ssl::context> tls);
  UpstreamSession(const UpstreamSession&) = delete;
  UpstreamSession& operator=(const UpstreamSession&) = delete;

  const boost::asio::any_io_executor& executor() const { return executor_; }

  // Delivers one message: connects and sets the session up first when it is new, then runs one
  // transaction. Never throws (but std::bad_alloc): every failure is in the result, one result
  // per recipient.
  boost::asio::awaitable<smtp_client::TransactionResult> deliver(const OutboundMessage& message);

  // After deliver(): the session is open and between transactions, fit for another message.
  bool reusable() const { return protocol_.reusable(); }

  // QUIT and close when the session is healthy; close at once when it is not. Never throws.
  boost::asio::awaitable<void> quit();

 private:
  boost::asio::awaitable<smtp_client::TransactionResult> run_transaction(BodySource& body);
  boost::asio::awaitable<void> perform(const smtp_client::Step& step, BodySource* body);
  boost::asio::awaitable<void> connect();
  boost::asio::awaitable<bool> write(std::string_view bytes);
  boost::asio::awaitable<void> read(const smtp_client::ReadReply& step);
  boost::asio::awaitable<void> handshake();
  boost::asio::awaitable<void> send_body(BodySource& body);
  void report_failure(const boost::system::error_code& ec);
  void log_ready(const smtp_client::SessionReady& ready) const;

  boost::asio::any_io_executor executor_;
  const Upstream upstream_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  net::Transport transport_;
  smtp_client::Protocol protocol_;
  const std::chrono::seconds limit_;
  std::chrono::seconds reply_limit_;  // limit_, shorter for the reply to QUIT
  std::uint64_t reply_number_ = 0;    // the reply reply_deadline_ is for
  bool reading_ = false;
  net::Transport::Deadline reply_deadline_{};
  std::array<char, 16384> buffer_{};
};

}  // namespace postern::delivery
