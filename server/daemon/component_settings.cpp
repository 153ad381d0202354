// See component_settings.hpp.
#include "server/daemon/component_settings.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

namespace postern::daemon {
namespace {

// 0 in postern.yaml: no limit.
std::optional<std::int64_t> limit(std::uint64_t configured) {
  if (configured == 0) return std::nullopt;
  return static_cast<std::int64_t>(std::min<std::uint64_t>(configured, INT64_MAX));
}

}  // namespace

log::Level log_level(const config::Config& config) {
  switch (config.log_level) {
    case config::LogLevel::Debug: return log::Level::Debug;
    case config::LogLevel::Info: return log::Level::Info;
    case config::LogLevel::Warning: return log::Level::Warning;
    case config::LogLevel::Error: return log::Level::Error;
  }
  return log::Level::Info;
}

schema::Argon2Params argon2_params(const config::Config& config) {
  return schema::Argon2Params{config.argon2_memory_kib, config.argon2_iterations};
}

auth::FailureThrottle::Limits throttle_limits(const config::Config& config) {
  auth::FailureThrottle::Limits limits;
  limits.window = std::chrono::seconds{config.auth_failure_window_seconds};
  limits.per_network = config.auth_failures_per_network;
  limits.per_user_network = config.auth_failures_per_user_network;
  limits.failure_delay = std::chrono::milliseconds{config.auth_failure_delay_ms};
  limits.user_delay = std::chrono::milliseconds{config.auth_user_delay_ms};
  limits.checks_per_user = config.auth_checks_per_user;
  limits.known_network_for = std::chrono::hours{24 * config.auth_known_network_days};
  return limits;
}

UserCacheLimits cache_limits(const config::Config& config) {
  return {std::chrono::seconds{config.auth_cache_seconds}, config.auth_cache_entries};
}

schema::SenderPolicy sender_policy(const config::Config& config) {
  return schema::SenderPolicy{config.local_part_case_sensitive, config.subaddress_delimiter};
}

policy::Limits sending_defaults(const config::Config& config) {
  return {limit(config.messages_per_hour), limit(config.messages_per_day), limit(config.recipients_per_hour),
          limit(config.recipients_per_day)};
}

policy::SendingLimits::Options sending_limits_options(const config::Config& config, std::string replica) {
  policy::SendingLimits::Options options;
  options.defaults = sending_defaults(config);
  options.windows = {config.limit_hour_seconds, config.limit_day_seconds};
  options.sync_interval = std::chrono::milliseconds{config.limit_sync_milliseconds};
  options.cache_ttl = std::chrono::seconds{config.auth_cache_seconds};
  options.replica = std::move(replica);
  return options;
}

queue::IntakeOptions intake_options(const config::Config& config) {
  queue::IntakeOptions options;
  options.hostname = config.hostname;
  options.check_header_from = config.check_header_from;
  options.add_message_id = config.add_message_id;
  options.add_date = config.add_date;
  options.add_received = config.add_received;
  options.add_x_peer = config.add_x_peer;
  options.received_shows_user = config.received_shows_user;
  options.refuse_address_like_display_names = config.refuse_address_like_display_names;
  options.spool.directory = config.spool_directory;
  options.delivery = config.delivery;
  return options;
}

queue::ChainOptions chain_options(const config::Config& config) {
  return {sender_policy(config), intake_options(config).spool, config.max_message_size};
}

std::vector<std::string> upstream_names(const config::Config& config) {
  std::vector<std::string> names;
  for (const auto& upstream : config.delivery.upstreams) names.push_back(upstream.name);
  return names;
}

net::SessionSettings session_settings(const config::Config& config, const config::ListenerConfig& listener) {
  using Service = smtp::ProtocolOptions::Service;
  net::SessionSettings settings;
  settings.protocol.hostname = config.hostname;
  settings.protocol.max_message_size = config.max_message_size;
  settings.protocol.max_recipients = config.max_recipients;
  settings.protocol.max_errors = static_cast<int>(config.max_errors);
  settings.protocol.max_idle_commands = static_cast<int>(config.max_idle_commands);
  settings.protocol.check_recipients = true;  // against the share maps
  settings.protocol.offer_oauth = config.oauth.has_value();
  if (config.oauth) settings.protocol.oauth_scope = config.oauth->scope;
  settings.command_timeout = std::chrono::seconds{config.command_timeout_seconds};
  settings.data_timeout = std::chrono::seconds{config.data_timeout_seconds};
  settings.auth_timeout = std::chrono::seconds{config.auth_timeout_seconds};
  settings.session_timeout = std::chrono::seconds{config.session_timeout_seconds};
  settings.implicit_tls = listener.tls == config::ListenerTls::Implicit;
  settings.allow_plaintext_auth_on_loopback = listener.allow_plaintext_auth_on_loopback;
  if (listener.kind == config::ListenerKind::Lmtp) {
    settings.intake = queue::Intake::Lmtp;
    settings.protocol.service = Service::Lmtp;
    settings.offer_tls = false;  // LMTP stays on loopback or a unix socket, in clear
  } else if (listener.role == config::ListenerRole::Inbound) {
    settings.intake = queue::Intake::Inbound;
    settings.protocol.service = Service::Inbound;
  }
  settings.accept_domains = listener.accept_domains;
  settings.dsn = listener.dsn;
  settings.proxy_protocol = listener.proxy_protocol;
  settings.trusted_proxies = listener.trusted_proxies;
  settings.proxy_protocol_timeout = std::chrono::seconds{listener.proxy_protocol_timeout_seconds};
  return settings;
}

std::optional<auth::BearerSettings> bearer_settings(const config::Config& config) {
  if (!config.oauth) return std::nullopt;
  return auth::BearerSettings{config.oauth->jwks.keys, config.oauth->policy, config.oauth->user_claim};
}

admin::ApiSettings api_settings(const config::Config& config) {
  return {argon2_params(config), sender_policy(config), config.delivery.seal_keys};
}

}  // namespace postern::daemon
