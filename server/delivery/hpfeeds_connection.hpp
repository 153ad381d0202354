// One logged-in connection to an hpfeeds broker, for HpfeedsPublisher (hpfeeds_publisher.hpp):
// the frames of server/hpfeeds driven over one Transport (server/net/transport.hpp), TLS set up
// as for any upstream (upstream_tls.hpp). The publisher decides what to write and when; this
// opens, writes, watches and closes.
//
//   auto connection = std::make_shared<HpfeedsConnection>(strand, upstream, tls, on_lost);
//   std::string error = co_await connection->open();   // "" once logged in
//   error = co_await connection->write(frames);        // "" once written whole
//   co_await connection->close();
//
// open(): connect, TLS from the first byte with security Tls, the broker's INFO, AUTH with
// SHA-1(nonce ‖ secret); then, since a broker acknowledges nothing, the login counts once no
// OP_ERROR nor a close came within error_grace_milliseconds. From then on a background reader
// watches the connection: an OP_ERROR ("hpfeeds broker: Authentication failed for collector"),
// a close, garbage, or a write that fails or times out breaks it, for good, and on_lost is
// called once with why. timeout_seconds bounds the connect, the TLS handshake, the wait for
// INFO and each write.
//
// Every method runs on the strand given to the constructor (co_await them there); on_lost is
// called there too. The secret goes into the AUTH hash only: no detail, log line or error text
// holds it.
#pragma once

#include "server/delivery/upstream.hpp"
#include "server/hpfeeds/frame_reader.hpp"
#include "server/net/transport.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio::ssl {
class context;
}

namespace postern::delivery {

class HpfeedsConnection : public std::enable_shared_from_this<HpfeedsConnection> {
 public:
  using LostHandler = std::function<void(const std::string& why)>;

  // strand: the connection's I/O and state live there. tls: from make_upstream_tls_context(),
  // null with security None.
  HpfeedsConnection(boost::asio::any_io_executor strand, std::shared_ptr<const Upstream> upstream,
                    std::shared_ptr<boost::asio::ssl::context> tls, LostHandler on_lost);
  HpfeedsConnection(const HpfeedsConnection&) = delete;
  HpfeedsConnection& operator=(const HpfeedsConnection&) = delete;

  // Connects and logs in. Returns "" when logged in (on_lost reports what happens later), else
  // what failed: "connect to host:port failed: ...", "TLS handshake with host:port failed: ...",
  // "hpfeeds: no INFO from broker host:port within 60 s", "hpfeeds broker: <its OP_ERROR>".
  boost::asio::awaitable<std::string> open();

  // Writes bytes whole (one or more frames). "" when written, else why the connection broke.
  // One write at a time.
  boost::asio::awaitable<std::string> write(std::string_view bytes);

  // Closes the connection (TLS goodbye when encrypted), without calling on_lost.
  boost::asio::awaitable<void> close();

  bool broken() const { return !failure_.empty(); }
  const std::string& failure() const { return failure_; }
  // "host:port", as the failure texts name the broker.
  const std::string& peer() const { return peer_; }

 private:
  boost::asio::awaitable<std::string> connect_and_handshake();
  boost::asio::awaitable<std::string> read_info(std::string& nonce);
  boost::asio::awaitable<std::string> wait_for_refusal();
  // Returns once the connection failed, or after `limit`.
  boost::asio::awaitable<void> wait_for_failure(std::chrono::steady_clock::duration limit);
  boost::asio::awaitable<void> watch(std::shared_ptr<HpfeedsConnection> keep_alive);
  std::string check_frames();
  void fail(std::string why);

  const std::shared_ptr<const Upstream> upstream_;
  const std::string peer_;
  net::Transport transport_;
  LostHandler on_lost_;
  hpfeeds::FrameReader reader_;
  boost::asio::steady_timer write_watchdog_;
  boost::asio::steady_timer failure_wait_;  // wait_for_failure(); fail() cuts it short
  unsigned write_generation_ = 0;         // a watchdog expiry of an earlier write is ignored
  bool logged_in_ = false;                // open() succeeded: failures go to on_lost
  bool closing_ = false;                  // close() was called: what follows is no failure
  std::string failure_;
  std::string broker_name_;  // from its INFO, for the log
  std::array<char, 4096> buffer_{};
};

}  // namespace postern::delivery
