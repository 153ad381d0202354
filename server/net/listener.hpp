// One listening socket of the relay, TCP or (for LMTP) a unix socket. The constructor binds it;
// start() runs its accept loop, which gives every connection its own strand and a connection
// slot, then runs the session — or, over the limits, answers 421 and hangs up. close() stops accepting and leaves the open
// sessions to finish (the daemon's drain waits for them through the SessionRegistry).
// reconfigure() gives sessions accepted from then on other settings, on the same socket. The
// accept loop holds the listener, so one dropped after close() lives until its loop has ended.
//
//   auto listener = std::make_shared<Listener>(io, "0.0.0.0", 587, settings);
//   listener->start(limiter, services);  ...  listener->close();
#pragma once

#include "server/net/connection_limiter.hpp"
#include "server/net/session.hpp"
#include "server/runtime/snapshot.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace postern::net {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Binds and listens; throws std::runtime_error "cannot listen on ADDRESS:PORT: reason".
  Listener(boost::asio::io_context& io, const std::string& address, std::uint16_t port,
           SessionSettings settings);
  // A unix socket at `path` (a stale socket file there is replaced; the file is removed at
  // close()), mode 0666: the folder's permissions decide who may connect. Throws as above.
  Listener(boost::asio::io_context& io, const std::string& path, SessionSettings settings);
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // "address:port" or "unix:path", as the logs name this listener.
  const std::string& name() const { return name_; }
  std::shared_ptr<const SessionSettings> settings() const { return settings_.get(); }

  // For the connections accepted from now on; open sessions keep theirs. Any thread.
  void reconfigure(SessionSettings settings) { settings_.replace(std::move(settings)); }

  // Spawns the accept loop on the io_context; `limiter` and `services` must outlive it.
  void start(ConnectionLimiter& limiter, SessionServices& services);

  // Stops accepting at once: new connections are refused (a unix socket's file is removed).
  // Sessions already open go on. Any thread: only the accept loop touches the acceptor, and
  // closes it when its pending accept fails.
  void close();

 private:
  // `self`: the loop's frame keeps the listener alive until the loop ends.
  boost::asio::awaitable<void> accept_loop(std::shared_ptr<Listener> self, ConnectionLimiter& limiter,
                                           SessionServices& services);
  // The next connection, as a socket of the TCP type either way (a unix socket's descriptor is
  // moved into one: everything after the accept only reads and writes it).
  boost::asio::awaitable<boost::asio::ip::tcp::socket> accept(const boost::asio::any_io_executor& strand,
                                                              boost::system::error_code& ec);
  bool is_open() const;
  void close_acceptor();  // on the accept loop

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::local::stream_protocol::acceptor unix_acceptor_;
  std::string path_;  // the unix socket's, or empty for TCP
  Snapshot<SessionSettings> settings_;
  std::string name_;
  std::atomic<bool> closed_{false};  // set before the socket stops listening: its accept error is expected
};

}  // namespace postern::net
