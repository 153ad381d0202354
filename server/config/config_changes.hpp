// What a reload of postern.yaml changes. compare_configs() names every key whose value differs
// between the running configuration and the file read again, split into the keys the running
// relay takes on (`changed`) and those that keep their running values until a restart
// (`needs_restart`: what is bound or sized once at start: the database, the thread pools, the
// HTTP endpoint, ...). keep_running_values() is the file as the reload applies it: those keys
// at their running values. plan_listeners() pairs the listeners of both by the socket they bind.
//
//   ConfigChanges changes = compare_configs(running, next);
//   for (const auto& key : changes.needs_restart) ...   // warn: keeps its running value
//   running = keep_running_values(running, next);       // after applying it
#pragma once

#include "server/config/config.hpp"

#include <string>
#include <vector>

namespace postern::config {

struct ConfigChanges {
  std::vector<std::string> changed;        // keys as in postern.yaml, applied by the reload
  std::vector<std::string> needs_restart;  // keys that changed but keep their running values
};

ConfigChanges compare_configs(const Config& running, const Config& next);

// `next` with the running value of every key that needs a restart: what the reload applies.
Config keep_running_values(const Config& running, Config next);

// Every key compare_configs() looks at ("listeners" and "upstreams" for those lists, "tls" and
// "http" for those sections), so that a test can check that none of describe()'s is left out.
std::vector<std::string> compared_keys();

// The socket a listener binds, as the logs name it: "127.0.0.1:25", "::1:587", "unix:/run/lmtp".
std::string listener_socket(const ListenerConfig& listener);

// The listeners of the file read again against the running ones, paired by listener_socket().
struct ListenerPlan {
  std::vector<ListenerConfig> added;    // new sockets: bind and start accepting
  std::vector<ListenerConfig> removed;  // gone: stop accepting; their open sessions finish
  std::vector<ListenerConfig> changed;  // the same socket with other settings, for new sessions
};

ListenerPlan plan_listeners(const std::vector<ListenerConfig>& running, const std::vector<ListenerConfig>& next);

}  // namespace postern::config
