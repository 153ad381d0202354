// The SMTP client that hands queued mail to an upstream (a provider's submission port, a
// smarthost): one UpstreamClient is one connection and one SMTP session that carries any number
// of messages, one transaction each. UpstreamPool (upstream_pool.hpp) owns the clients; the
// delivery engine talks to the pool, not to a client.
//
// A session: TCP connect (each resolved address in turn), implicit TLS or STARTTLS (required:
// an upstream that does not offer it is a temporary failure, never a plaintext fallback), EHLO
// (HELO when EHLO is refused), AUTH PLAIN or LOGIN when the upstream has a username. A
// transaction: MAIL FROM (SIZE=, BODY=8BITMIME, SMTPUTF8), RCPT TO for each recipient, DATA with
// dot-stuffing; with PIPELINING the commands up to DATA go out in one write (RFC 2920).
//
// Every connect, handshake, write and reply has a deadline of the upstream's timeout_seconds;
// the reply to the end of the message data gets timeout_seconds * 10 (10 minutes with the
// default 60 s, the RFC 5321 §4.5.3.2.6 value), since that is when the upstream does its work.
#pragma once

#include "server/delivery/upstream.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace postern::delivery {

struct OutboundMessage {
  std::string sender;                   // envelope MAIL FROM; "" = null sender (DSNs)
  std::vector<std::string> recipients;  // envelope RCPT TO, in order
  const std::string* data = nullptr;    // the message bytes, CRLF lines, NOT dot-stuffed
  bool eight_bit_mime = false;          // add BODY=8BITMIME when the server offers 8BITMIME
  bool smtputf8 = false;                // add SMTPUTF8 (fail permanently 5.6.7 if not offered)
};

struct RecipientResult {  // one per recipient, same order
  int code = 0;           // final SMTP code for this recipient (2xx/4xx/5xx), 0 never
  std::string reply;      // "550 5.1.1 <x>: no such user" one line, for DSN and queue show
};

struct DeliveryReport {
  std::vector<RecipientResult> recipients;
  // Whole-attempt failure text when no per-recipient SMTP reply applies: connect refused,
  // timeout, TLS verification failed, AUTH refused, MAIL FROM refused, message too big...
  // e.g. "TLS handshake with mx.example:587 failed: certificate verify failed (self-signed
  // certificate)". Then every recipient not already refused at RCPT gets code 451 (or the
  // upstream's own 4xx), except for a 5xx AUTH refusal, a 5xx at MAIL FROM, a message bigger
  // than the upstream's SIZE (552 5.3.4) and SMTPUTF8 mail to an upstream without SMTPUTF8
  // (550 5.6.7): those are 5xx for every recipient. Empty when the transaction ran its course,
  // whatever each recipient's result.
  std::string error;
};

// The TLS client context for an upstream: TLS 1.2 or later; with verify_certificate, peer
// verification against ca_file, or the system store when ca_file is empty. Throws
// std::runtime_error when the CA file cannot be loaded. (The host name check and SNI are set
// per connection.)
std::shared_ptr<boost::asio::ssl::context> make_upstream_tls_context(const Upstream& upstream);

class UpstreamClient {
 public:
  // executor: the strand that every operation of this client runs on; co_await the client's
  // awaitables only on it (UpstreamPool co_spawns them there). tls: from
  // make_upstream_tls_context(), null when upstream.security is None.
  UpstreamClient(boost::asio::any_io_executor executor, const Upstream& upstream, std::string ehlo_name,
                 std::shared_ptr<boost::asio::ssl::context> tls);
  ~UpstreamClient();
  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  const boost::asio::any_io_executor& executor() const;

  // Delivers one message: opens the session first when it is not open, then runs one
  // transaction. Never throws (but std::bad_alloc): every failure is in the report.
  boost::asio::awaitable<DeliveryReport> deliver(const OutboundMessage& message);

  // After deliver(): the session is open and between transactions, fit for another message.
  bool reusable() const;
  // After deliver() on a session that had already carried a message: the connection turned out
  // dead (closed, reset, or 421) before the upstream accepted anything of this message, so the
  // message can go again on a fresh connection with no risk of a duplicate.
  bool stale() const;
  // Messages this connection has carried (final reply 2xx for at least one recipient, or not).
  unsigned transactions() const;

  // QUIT and close when the session is healthy; close at once when it is not. Never throws.
  boost::asio::awaitable<void> quit();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace postern::delivery
