// The relay daemon assembled: the configuration gives the I/O threads running one io_context,
// the blocking pools (PostgreSQL work; Argon2), the services the sessions call, one
// net::Listener per configured address, the HTTP endpoint, delivery when upstreams are
// configured, and the signals (signals.hpp: SIGHUP reloads the configuration from
// config_path, config_reload.hpp; SIGTERM/SIGINT drain).
//
//   return postern::daemon::Daemon{config, config_path}.run();
#pragma once

#include "server/config/config.hpp"

#include <memory>
#include <string>

namespace postern::daemon {

class Daemon {
 public:
  // Sets the log level, builds the services and binds the listeners; throws
  // std::runtime_error naming what failed (port in use, bad key). `config` was loaded from
  // `config_path`, which SIGHUP reads again.
  Daemon(const config::Config& config, const std::string& config_path);
  ~Daemon();

  // Serves until drained after a stop signal; returns the process exit code.
  int run();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace postern::daemon
