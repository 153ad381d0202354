// The hpfeeds journal of one upstream (kind hpfeeds): publishes each message's payload
// (journal_payload) to every channel of upstream.hpfeeds on one persistent, logged-in
// connection to the broker (hpfeeds_connection.hpp), shared by every delivery of this replica.
//
//   HpfeedsPublisher publisher{executor, upstream};
//   JournalResult result = co_await publisher.publish(payload);
//   publisher.close();   // shutdown
//
// hpfeeds acknowledges nothing, so a publish counts as Delivered once its frames were written
// and the connection stayed up, with no OP_ERROR, for error_grace_milliseconds after. Publishes
// are pipelined: concurrent publish() calls queue on the connection's strand and go out in
// batches (several frames in one write), and many may be within their grace at once. An
// OP_ERROR or a close defers every publish still within its grace, with the broker's words as
// the detail ("hpfeeds broker: Authentication failed for collector"); the next publish opens a
// new connection. Delivery is at least once: a publish deferred this way may have reached the
// subscribers.
//
// Results: Failed, without connecting, for a payload whose PUBLISH frame would exceed
// max_frame_bytes ("message too large for hpfeeds: PUBLISH frame of N bytes exceeds
// max_frame_bytes M"); Deferred for everything the broker or the network did (connect, TLS,
// INFO, timeouts, OP_ERROR, a close) and for a configuration the publisher cannot use (security
// starttls, a name over 255 bytes, no channel, a CA file that does not load).
//
// The connection is opened at the first publish, not at construction, and closed after
// upstream.idle_seconds without a publish (a connection that sat idle may have died silently,
// and a write into it would count as delivered). One connection serves all: max_connections is
// not used.
//
// Thread-safe: publish() may be awaited from coroutines on any threads, close() called from
// any thread. The publisher may be destroyed with publishes in flight (they finish on their
// own); the io_context must outlive them.
#pragma once

#include "server/delivery/journal_publish.hpp"
#include "server/delivery/upstream.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>

namespace postern::delivery {

namespace detail {
struct HpfeedsPublisherState;
}

class HpfeedsPublisher : public JournalPublisher {
 public:
  // Logs a warning when the broker's certificate is not verified, and an error (then every
  // publish is deferred) when its CA file cannot be loaded.
  HpfeedsPublisher(boost::asio::any_io_executor executor, const Upstream& upstream);
  ~HpfeedsPublisher() override;  // close()
  HpfeedsPublisher(const HpfeedsPublisher&) = delete;
  HpfeedsPublisher& operator=(const HpfeedsPublisher&) = delete;

  // Publishes `payload` (already built by journal_payload) to every channel of the upstream.
  // Never throws (but std::bad_alloc): every failure is in the result.
  boost::asio::awaitable<JournalResult> publish(std::shared_ptr<const std::string> payload) override;

  // Shutdown: closes the connection as soon as no publish is queued or within its grace (at
  // once when idle). Publishes still running finish; a later publish connects again and its
  // connection closes once idle too.
  void close() override;

 private:
  std::shared_ptr<detail::HpfeedsPublisherState> state_;
};

}  // namespace postern::delivery
