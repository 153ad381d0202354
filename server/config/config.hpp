// The configuration of the relay daemon `postern`: the types every part of the server reads, and
// the loader for `postern.yaml` (documented key by key in postern.example.yaml at the repo root).
//
// main() calls load_config(path) once at start-up, logs describe(config) and hands the parts on;
// on a ConfigError it prints what() — one line, "file:line: dotted.key: problem" — and exits.
// Tests call parse_config() with YAML text and a fake Environment, touching no files or env vars.
// Everything is checked here, so that the rest of the server can trust the values: unknown keys,
// wrong types, out-of-range numbers and contradictory settings are all errors, never ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "server/config/admin_api_config.hpp"
#include "server/delivery/upstream.hpp"
#include "server/handlers/handler.hpp"
#include "server/config/oauth_config.hpp"
#include "server/config/webhooks_config.hpp"
#include "server/net/ip_network.hpp"

namespace postern::config {

struct ConfigError : std::runtime_error {
  using runtime_error::runtime_error;
};

enum class ListenerTls {
  StartTls,  // plaintext, STARTTLS offered when a tls section exists (ports 587, 9000)
  Implicit,  // TLS from the first byte (port 465); needs a tls section
};

enum class ListenerKind {
  Smtp,  // SMTP (RFC 5321)
  Lmtp,  // LMTP (RFC 2033): a reply per recipient after the data; always inbound
};

enum class ListenerRole {
  Submission,  // authenticated users send as the addresses they are granted (ports 587, 465, 9000)
  Inbound,     // anyone sends to the accept_domains only: a catch-all for them (port 25 style)
};

struct ListenerConfig {
  ListenerKind kind = ListenerKind::Smtp;
  ListenerRole role = ListenerRole::Submission;  // kind lmtp: always Inbound
  std::string address = "0.0.0.0";  // an IPv4 or IPv6 literal; kind lmtp: 127.0.0.1 by default
  std::uint16_t port = 9000;         // role inbound: 25; kind lmtp: 24
  std::string path;                  // kind lmtp: a unix socket instead of TCP (address and port)
  ListenerTls tls = ListenerTls::StartTls;
  bool allow_plaintext_auth_on_loopback = false;  // AUTH without TLS from 127.0.0.0/8 and ::1
  // Inbound and LMTP: the domains whose every mailbox is accepted (normalised); any other
  // recipient is refused, so the listener relays nowhere else.
  std::vector<std::string> accept_domains;
  // Whether a recipient that finally fails makes a DSN to the sender: yes for submission; no for
  // inbound and LMTP by default (their senders are forged: a DSN would be backscatter).
  bool dsn = true;
  // Behind a load balancer: every connection starts with a PROXY protocol header (v1 or v2) that
  // names the real client, and comes from one of trusted_proxies (required with it).
  bool proxy_protocol = false;
  std::vector<net::IpNetwork> trusted_proxies;
  unsigned proxy_protocol_timeout_seconds = 5;  // for the header, from the connect

  friend bool operator==(const ListenerConfig&, const ListenerConfig&) = default;
};

struct TlsConfig {  // both paths are set; the files are read by the TLS set-up, not here
  std::string certificate_file;
  std::string key_file;

  friend bool operator==(const TlsConfig&, const TlsConfig&) = default;
};

// The operations HTTP endpoint: GET /healthz, /readyz and /metrics. Port 0 disables it.
struct HttpConfig {
  std::string address = "0.0.0.0";  // an IPv4 or IPv6 literal
  std::uint16_t port = 9100;        // 0: no HTTP endpoint
  unsigned database_check_seconds = 5;  // how often /readyz and /metrics' view of PostgreSQL is refreshed

  friend bool operator==(const HttpConfig&, const HttpConfig&) = default;
};

enum class LogLevel { Debug, Info, Warning, Error };

struct Config {
  std::string hostname;      // default: gethostname()
  std::string database_url;  // secret: POSTERN_DATABASE_URL, else database.url or database.url_file
  unsigned database_pool_size = 8;  // threads for PostgreSQL queries, one connection each
  unsigned database_timeout_seconds = 5;  // connect and statement timeout
  unsigned database_wait_timeout_seconds = 30;  // the longest any caller waits for the blocking pools
  std::vector<ListenerConfig> listeners = {ListenerConfig{}};
  std::optional<TlsConfig> tls;  // absent: no STARTTLS offered, no implicit-TLS listener allowed
  HttpConfig http;
  std::optional<AdminApiConfig> admin_api;  // admin_api: the admin HTTP API; absent: off
  // limits
  std::size_t max_message_size = 25 * 1024 * 1024;
  unsigned max_recipients = 100;
  unsigned max_errors = 5;
  unsigned max_connections = 1000;
  unsigned max_connections_per_ip = 50;
  unsigned command_timeout_seconds = 300;
  unsigned data_timeout_seconds = 600;
  unsigned max_idle_commands = 30;  // NOOP, RSET, VRFY, HELP, EXPN, refused RCPT between messages
  unsigned auth_timeout_seconds = 60;        // from the connect until AUTH succeeds
  unsigned session_timeout_seconds = 3600;   // a whole session
  // auth: Argon2id and its pool; the brake on guessing (auth::FailureThrottle)
  std::uint32_t argon2_memory_kib = 19456;
  std::uint32_t argon2_iterations = 2;
  unsigned auth_hash_threads = 0;  // Argon2 threads; 0 = the CPUs the process may use (cgroup quota)
  unsigned auth_hash_queue = 0;    // hashes waiting for a thread, more get 454; 0 = 32 x threads
  unsigned auth_failure_window_seconds = 900;
  unsigned auth_failures_per_network = 30;      // from one IPv4 address or IPv6 /64, any users
  unsigned auth_failures_per_user_network = 5;  // for one user from one network
  unsigned auth_failure_delay_ms = 1000;  // a network's wait after its first failure for a user, doubling
  unsigned auth_user_delay_ms = 1000;     // a clean network's wait while the user is under attack
  unsigned auth_checks_per_user = 2;      // concurrent password checks for one user
  unsigned auth_known_network_days = 30;  // a user's recent login network skips the two above
  // Verified logins, grants and users' own sending limits kept in memory (UserCache); 0 = off.
  unsigned auth_cache_seconds = 300;
  unsigned auth_cache_entries = 100000;
  // oauth: bearer token logins (oauth_config.hpp); absent: OAUTHBEARER and XOAUTH2 not offered
  std::optional<OAuthConfig> oauth;
  // sending_limits (policy::SendingLimits): per user, across replicas; 0 = no limit
  std::uint64_t messages_per_hour = 0;
  std::uint64_t messages_per_day = 0;
  std::uint64_t recipients_per_hour = 0;
  std::uint64_t recipients_per_day = 0;
  unsigned limit_hour_seconds = 3600;  // the windows' lengths (shorter ones for tests)
  unsigned limit_day_seconds = 86400;
  unsigned limit_sync_milliseconds = 1000;  // how often counts go to PostgreSQL and come back summed
  // policy
  bool local_part_case_sensitive = false;
  std::string subaddress_delimiter = "+";  // "" disables subaddress mapping
  bool check_header_from = true;
  // With check_header_from: refuse a From:/Sender: display name or comment that looks like an
  // address other than the user's own (policy.address_like_display_names: refuse | allow).
  bool refuse_address_like_display_names = true;
  // submission headers (RFC 6409 §8)
  bool add_message_id = true;
  bool add_date = true;
  bool add_received = true;
  bool add_x_peer = false;
  bool received_shows_user = false;  // name the authenticated user in Received:
  LogLevel log_level = LogLevel::Info;
  unsigned shutdown_grace_seconds = 30;
  unsigned io_threads = 0;        // 0 = one per CPU the cgroup quota grants (runtime/cpu_quota)
  // queue: where messages over 1 MiB wait between DATA and the queue, as unlinked files. Default:
  // the system's temporary directory ($TMPDIR, else /tmp). An absolute path; the daemon checks
  // at start-up that it can make a file there.
  std::string spool_directory;
  // queue.seal_key_files: the key files (seal.hpp) loaded into delivery.seal_keys; the first
  // seals every message queued from now on, each one opens. Empty: mail is queued in clear.
  std::vector<std::string> seal_key_files;
  // delivery:, upstreams:, routes:, default_upstream: (no upstreams: delivery is disabled and
  // the relay only queues)
  postern::delivery::DeliveryConfig delivery;
  // handlers:, handler_commands: (server/handlers/handler.hpp): run on each message at the end
  // of DATA, before it is queued
  postern::handlers::HandlerSettings handlers;
  // webhooks: signed POSTs of message events (webhooks_config.hpp); their subscriptions are in
  // delivery.webhooks
  WebhooksConfig webhooks;
};

// Looks up an environment variable; nullopt when unset.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;

// Reads and parses the file at `path`, with the process environment. Throws ConfigError.
Config load_config(const std::string& path);

// Parses `yaml_text`; `file_name_for_errors` starts every error message. Secret files named in
// the text (database.url_file, upstreams[i].password_file) are read, and variables named by
// upstreams[i].password_env are looked up in `env`. Throws ConfigError.
Config parse_config(const std::string& yaml_text, const std::string& file_name_for_errors,
                    const Environment& env);

// One line for the start-up log, without secrets (the database URL goes through
// redact_database_url; upstream passwords are left out).
std::string describe(const Config& config);

// The URL or conninfo string with every password replaced by "***":
// "postgresql://u:***@db/postern", "host=db password=*** dbname=postern".
std::string redact_database_url(const std::string& url);

}  // namespace postern::config
