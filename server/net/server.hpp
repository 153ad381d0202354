// The relay daemon assembled: I/O threads running one io_context, the blocking pool, the
// services, one accept loop per listener, and the signals — SIGHUP reloads the TLS certificate,
// SIGTERM/SIGINT stop accepting and let sessions finish within the grace period.
//
//   return postern::net::Server{config}.run();
#pragma once

#include "server/config/config.hpp"

#include <memory>

namespace postern::net {

class Server {
 public:
  // Binds the listeners; throws std::runtime_error naming what failed (port in use, bad key).
  explicit Server(const config::Config& config);
  ~Server();

  // Serves until drained after a stop signal; returns the process exit code.
  int run();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace postern::net
