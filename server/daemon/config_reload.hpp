// SIGHUP: postern.yaml read again (the same file, the same environment) and applied to the
// running relay. What the file changed goes to the components through their reconfigure
// methods: sessions and delivery attempts that start from then on take the new settings, those
// running finish on theirs. Listeners are paired by socket: a new one is bound first (a port in
// use refuses the whole reload), a removed one stops accepting, a kept one takes the new settings
// for new sessions on the socket it has. Keys that only a restart applies keep their running
// values, and one warning names them. A file that cannot be read or is invalid is refused as a
// whole: one error line names file, line and key, a metric counts it, the relay runs on as before.
// The TLS certificate and key are read again in any case.
//
//   ConfigReload reload{path, config, {io, listeners, ...}};
//   reload.reload();   // on the io_context, one at a time (the signal handler)
#pragma once

#include "server/config/config.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <vector>

namespace postern::admin { class AdminServer; }
namespace postern::auth { class CredentialCheck; }
namespace postern::delivery { class MessageDelivery; }
namespace postern::net {
class ConnectionLimiter;
class Listener;
class TlsContext;
struct SessionServices;
}  // namespace postern::net
namespace postern::policy {
class GrantCheck;
class SendingLimits;
}  // namespace postern::policy
namespace postern::queue {
class HandlerChain;
class MessageIntake;
}  // namespace postern::queue
namespace postern::sharing { class ShareMapCache; }
namespace postern::webhooks { class WebhookDispatcher; }

namespace postern::daemon {

class ConfigReload {
 public:
  // What a reload changes; everything here outlives the io_context's run.
  struct Targets {
    boost::asio::io_context& io;
    std::vector<std::shared_ptr<net::Listener>>& listeners;  // started ones; the reload adds and removes
    net::ConnectionLimiter& limiter;
    net::SessionServices& services;  // for the accept loops of new listeners
    auth::CredentialCheck& credentials;
    policy::GrantCheck& grants;
    policy::SendingLimits& limits;
    sharing::ShareMapCache& share_maps;
    queue::HandlerChain& handlers;
    queue::MessageIntake& intake;
    delivery::MessageDelivery* delivery;  // null: delivery is off
    webhooks::WebhookDispatcher& webhooks;
    net::TlsContext* tls;                 // null: no TLS
    admin::AdminServer* admin_api;        // null: no admin API
  };

  ConfigReload(std::string path, config::Config running, Targets targets);

  // Reads the file again and applies it, or refuses it. Never throws.
  void reload();

 private:
  // Throws config::ConfigError when `next` has an implicit-TLS listener but no TLS runs.
  void check_tls(const config::Config& next) const;
  // Binds the listeners `next` adds; throws std::runtime_error when one cannot listen.
  std::vector<std::shared_ptr<net::Listener>> bind_added(const config::Config& next) const;
  void apply(const config::Config& next, std::vector<std::shared_ptr<net::Listener>> added);
  void apply_listeners(const config::Config& next, std::vector<std::shared_ptr<net::Listener>> added);
  void reload_tls();

  const std::string path_;
  config::Config running_;  // as applied: the keys that need a restart at their running values
  Targets targets_;
};

}  // namespace postern::daemon
