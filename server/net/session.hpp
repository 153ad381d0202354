// One client connection: the coroutine that drives the pure smtp::Protocol over its Transport
// (transport.hpp). It reads under the command or data deadline, writes replies in batches
// (flushed before every wait, which is what pipelining needs), does the TLS handshake for
// STARTTLS or implicit TLS, spools the message content (queue::MessageSpool) as it arrives,
// and hands AUTH, MAIL FROM, RCPT TO and end-of-DATA to the services.
#pragma once

#include "server/net/connection_limiter.hpp"
#include "server/net/ip_network.hpp"
#include "server/net/session_registry.hpp"
#include "server/queue/intake.hpp"
#include "server/smtp/protocol.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace postern::auth { class CredentialCheck; }
namespace postern::policy {
class GrantCheck;
class SendingLimits;
}  // namespace postern::policy
namespace postern::queue { class MessageIntake; }
namespace postern::sharing { class ShareMapCache; }

namespace postern::net {

class TlsContext;

// Shared by every session of the server.
struct SessionServices {
  auth::CredentialCheck& credentials;
  policy::GrantCheck& grants;
  policy::SendingLimits& limits;  // MAIL FROM and RCPT, after the grants and the share maps
  queue::MessageIntake& intake;
  sharing::ShareMapCache& share_maps;  // RCPT: mail to a mapped recipient never goes out in clear
  TlsContext* tls;  // null when no certificate is configured
  SessionRegistry& registry;
};

struct SessionSettings {
  smtp::ProtocolOptions protocol;  // tls_available/tls_active/auth_without_tls set per session
  bool implicit_tls = false;
  bool offer_tls = true;  // STARTTLS when a certificate is configured (not on LMTP listeners)
  bool allow_plaintext_auth_on_loopback = false;
  // Inbound and LMTP listeners (protocol.service says which): no AUTH, recipients only in
  // accept_domains, `dsn` decides whether failures make DSNs.
  queue::Intake intake = queue::Intake::Submission;
  std::vector<std::string> accept_domains;
  bool dsn = true;
  std::chrono::seconds command_timeout{300};   // one command line, from its first byte
  std::chrono::seconds data_timeout{600};      // one DATA phase, from the 354 to the final dot
  std::chrono::seconds handshake_timeout{30};
  std::chrono::seconds auth_timeout{60};       // from the connect until AUTH succeeds
  std::chrono::seconds session_timeout{3600};  // the whole session
  // Behind a load balancer: a PROXY protocol header (proxy_reader.hpp) from one of
  // trusted_proxies names the client, within proxy_protocol_timeout of the connect.
  bool proxy_protocol = false;
  std::vector<IpNetwork> trusted_proxies;
  std::chrono::seconds proxy_protocol_timeout{5};
};

// Runs the session to its end, on the settings its listener had when it accepted it (a reload
// does not change them). The socket's executor must be a strand. proxied_client: the client a
// PROXY header named, for the logs, AUTH throttling, Received: and loopback checks; nullopt:
// the socket's peer is the client.
boost::asio::awaitable<void> run_session(boost::asio::ip::tcp::socket socket,
                                         std::shared_ptr<const SessionSettings> settings,
                                         SessionServices& services, ConnectionLimiter::Slot slot,
                                         std::optional<std::string> proxied_client);

// Answers "421 4.7.0 Too many connections" and closes: for connections over the limits.
// proxied_client as for run_session().
boost::asio::awaitable<void> refuse_session(boost::asio::ip::tcp::socket socket, std::string reason,
                                            std::optional<std::string> proxied_client);

}  // namespace postern::net
