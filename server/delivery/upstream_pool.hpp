// The connections to one SMTP upstream, shared by every delivery worker of this replica: at
// most upstream.max_connections sessions carry a message at once (more deliveries wait their
// turn, first come first served), and a session that ended its transaction cleanly stays open
// for upstream.idle_seconds, for the next message, then says QUIT.
//
//   UpstreamPool pool{executor, upstream, "relay.example.org"};
//   smtp_client::TransactionResult result = co_await pool.deliver(message);
//
// An upstream with pop_before_smtp gets each message only after its POP3 login counts
// (pop_before_smtp.hpp); when that login fails, every recipient of the message is deferred with
// "451 4.7.0 POP before SMTP: ..." and the POP3 server's reply, and nothing is sent.
//
// A reused session that turns out dead before the upstream accepted anything of the message
// (the upstream closed it while idle: EOF, reset, 421 at MAIL) is replaced by a fresh
// connection, once, transparently: no duplicate is possible.
//
// Thread-safe: deliver() may be awaited from coroutines on any threads; each session runs on
// its own strand of the pool's executor. The pool must outlive the deliveries in flight.
#pragma once

#include "server/delivery/upstream.hpp"
#include "server/delivery/upstream_session.hpp"
#include "server/smtp_client/result.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>

namespace postern::delivery {

namespace detail {
struct UpstreamPoolState;
}

class UpstreamPool {
 public:
  // default_ehlo_name: the EHLO name when upstream.ehlo_name is empty (the relay's hostname).
  // Logs a warning when the upstream's certificate is not verified, and an error (then every
  // delivery fails temporarily) when its CA file cannot be loaded.
  UpstreamPool(boost::asio::any_io_executor executor, Upstream upstream, std::string default_ehlo_name);
  ~UpstreamPool();  // close_idle()
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // Delivers one message; waits while max_connections sessions are busy; reuses an idle session
  // when there is one, opens a new one otherwise. Never throws (but std::bad_alloc): every
  // failure is in the result, one result per recipient.
  boost::asio::awaitable<smtp_client::TransactionResult> deliver(const OutboundMessage& message);

  // Shutdown: QUIT the idle sessions now (in the background, on the pool's executor). Deliveries
  // still running finish and close their sessions instead of keeping them.
  void close_idle();

  const Upstream& upstream() const;

 private:
  std::shared_ptr<detail::UpstreamPoolState> shared_;
};

}  // namespace postern::delivery
