// The relay daemon assembled: the configuration gives the I/O threads running one io_context,
// the blocking pools (PostgreSQL work; Argon2), the services the sessions call, one
// net::Listener per configured address, the HTTP endpoint, delivery when upstreams are
// configured, and the signals (signals.hpp: SIGHUP reloads TLS, SIGTERM/SIGINT drain).
//
//   return postern::daemon::Daemon{config}.run();
#pragma once

#include "server/config/config.hpp"

#include <memory>

namespace postern::daemon {

class Daemon {
 public:
  // Sets the log level, builds the services and binds the listeners; throws
  // std::runtime_error naming what failed (port in use, bad key).
  explicit Daemon(const config::Config& config);
  ~Daemon();

  // Serves until drained after a stop signal; returns the process exit code.
  int run();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace postern::daemon
