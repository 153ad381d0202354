// The start-up summary: every setting as `dotted.key=value`, named as in postern.yaml, so that a
// log line can be compared with the file. The database URL is redacted; upstream passwords are
// left out (only whether an upstream authenticates, and as whom, is shown; likewise its POP
// before SMTP login). A webhook endpoint shows its name, scheme, host and port and its events,
// never its secret nor its URL's path and query (which may carry a token).
#include <string>
#include <string_view>
#include <type_traits>

#include "server/config/config.hpp"
#include "server/config/config_reader.hpp"
#include "server/webhooks/webhook_url.hpp"

namespace postern::config {
namespace {

class Line {
 public:
  template <typename T>
  void add(std::string_view key, const T& value) {
    if constexpr (std::is_same_v<T, bool>) {
      add(key, std::string(value ? "true" : "false"));
    } else if constexpr (std::is_convertible_v<T, std::string_view>) {
      const std::string_view text = value;
      // Quoted only when needed, so that spaces (a conninfo string) cannot blur the fields.
      const bool plain = !text.empty() && text.find_first_of(" \"\\\t\r\n") == text.npos;
      append(key, plain ? std::string(text) : detail::quote(text));
    } else {
      append(key, std::to_string(value));
    }
  }
  std::string str() const { return text_; }

 private:
  void append(std::string_view key, const std::string& value) {
    if (!text_.empty()) text_ += ' ';
    text_.append(key).append("=").append(value);
  }
  std::string text_;
};

// "crm:https://hooks.example.com:443[all],audit:http://127.0.0.1:9000[bounced+expired]", "none".
std::string webhook_endpoints_text(const std::vector<WebhookEndpoint>& endpoints) {
  std::string text;
  for (const WebhookEndpoint& e : endpoints) {
    const webhooks::WebhookUrl url = webhooks::parse_webhook_url(e.url);  // checked when read
    std::string events;
    for (const schema::WebhookEventType type : e.events) {
      events += (events.empty() ? "" : "+") + std::string(schema::webhook_event_name(type));
    }
    if (e.events.size() == 5) events = "all";
    text += (text.empty() ? "" : ",") + e.name + ":" + url.origin() + "[" + events + "]";
  }
  return text.empty() ? "none" : text;
}

std::string listener_text(const ListenerConfig& l) {
  const bool v6 = l.address.find(':') != std::string::npos;
  std::string text = !l.path.empty() ? "unix:" + l.path
                                     : (v6 ? "[" + l.address + "]" : l.address) + ":" + std::to_string(l.port);
  if (l.kind == ListenerKind::Lmtp) {
    text += "/lmtp";
  } else {
    text += l.tls == ListenerTls::Implicit ? "/implicit" : "/starttls";
    if (l.role == ListenerRole::Inbound) text += "/inbound";
  }
  if (l.allow_plaintext_auth_on_loopback) text += "+plaintext-auth-on-loopback";
  if (l.proxy_protocol) text += "+proxy-protocol";
  for (std::size_t i = 0; i < l.accept_domains.size(); ++i) text += (i == 0 ? "(" : "+") + l.accept_domains[i];
  if (!l.accept_domains.empty()) text += ")";
  if (l.role == ListenerRole::Inbound && l.dsn) text += "+dsn";
  return text;
}

std::string host_port(const std::string& host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string security_text(delivery::UpstreamSecurity security) {
  switch (security) {
    case delivery::UpstreamSecurity::None: return "/none";
    case delivery::UpstreamSecurity::StartTls: return "/starttls";
    case delivery::UpstreamSecurity::Tls: return "/tls";
  }
  return "";
}

// "+pop=pop.provider.example:995/tls/user=relay@example.com/interval=60/wait=1", with
// "/no-verify" when the certificate is not checked.
std::string pop_text(const delivery::PopBeforeSmtp& pop) {
  std::string text = "+pop=" + host_port(pop.host, pop.port) + security_text(pop.security);
  if (!pop.verify_certificate) text += "/no-verify";
  text += "/user=" + pop.username + "/interval=" + std::to_string(pop.interval_seconds) +
          "/wait=" + std::to_string(pop.wait_seconds);
  return text;
}

// "provider=smtp.provider.example:587/starttls+auth=relay@example.com" or
// "local=maildir:/var/lib/postern/maildir"; flags only where a setting is not the default.
std::string upstream_text(const delivery::Upstream& u) {
  std::string text = u.name + "=";
  if (u.kind == delivery::UpstreamKind::Maildir) {
    text += "maildir:" + u.maildir;
  } else {
    text += host_port(u.host, u.port) + security_text(u.security);
    if (!u.verify_certificate) text += "+no-verify";
    if (!u.username.empty()) text += "+auth=" + u.username;
    if (u.pop_before_smtp) text += pop_text(*u.pop_before_smtp);
  }
  const auto format = [](delivery::JournalFormat f) { return f == delivery::JournalFormat::Json ? "+json" : "+raw"; };
  if (u.kind == delivery::UpstreamKind::Hpfeeds) {
    text.insert(u.name.size() + 1, "hpfeeds:");
    text += "+ident=" + u.hpfeeds.ident + "+channels=";
    for (std::size_t i = 0; i < u.hpfeeds.channels.size(); ++i) text += (i == 0 ? "" : "|") + u.hpfeeds.channels[i];
    text += format(u.hpfeeds.format);
  }
  if (u.kind == delivery::UpstreamKind::Amqp) {
    text.insert(u.name.size() + 1, "amqp:");
    text += "+vhost=" + u.amqp.vhost + "+exchange=" + u.amqp.exchange + "(" + u.amqp.exchange_type +
            ")+routing_key=" + u.amqp.routing_key + format(u.amqp.format);
  }
  if (!u.rewrite_return_path.empty()) text += "+return-path=" + u.rewrite_return_path;
  if (!u.rewrite_reply_to.empty()) text += "+reply-to=" + u.rewrite_reply_to;
  return text;
}

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warning: return "warning";
    case LogLevel::Error: return "error";
  }
  return "unknown";
}

}  // namespace

// Long (one entry per configuration key), but a flat list is the easiest to keep complete.
std::string describe(const Config& c) {
  Line line;
  line.add("hostname", c.hostname);
  line.add("database.url", redact_database_url(c.database_url));
  line.add("database.pool_size", c.database_pool_size);
  line.add("database.timeout_seconds", c.database_timeout_seconds);
  line.add("database.wait_timeout_seconds", c.database_wait_timeout_seconds);
  std::string listeners;
  for (const ListenerConfig& l : c.listeners) {
    listeners += (listeners.empty() ? "" : ",") + listener_text(l);
  }
  line.add("listeners", listeners);
  if (c.tls) {
    line.add("tls.certificate", c.tls->certificate_file);
    line.add("tls.key", c.tls->key_file);
  } else {
    line.add("tls", "none");
  }
  line.add("http", c.http.port == 0 ? std::string("off") : host_port(c.http.address, c.http.port));
  line.add("http.database_check_seconds", c.http.database_check_seconds);
  line.add("limits.max_message_size", c.max_message_size);
  line.add("limits.max_recipients", c.max_recipients);
  line.add("limits.max_errors", c.max_errors);
  line.add("limits.max_idle_commands", c.max_idle_commands);
  line.add("limits.max_connections", c.max_connections);
  line.add("limits.max_connections_per_ip", c.max_connections_per_ip);
  line.add("limits.command_timeout_seconds", c.command_timeout_seconds);
  line.add("limits.data_timeout_seconds", c.data_timeout_seconds);
  line.add("limits.auth_timeout_seconds", c.auth_timeout_seconds);
  line.add("limits.session_timeout_seconds", c.session_timeout_seconds);
  line.add("auth.argon2_memory_kib", c.argon2_memory_kib);
  line.add("auth.argon2_iterations", c.argon2_iterations);
  line.add("auth.hash_threads", c.auth_hash_threads);
  line.add("auth.hash_queue", c.auth_hash_queue);
  line.add("auth.failure_window_seconds", c.auth_failure_window_seconds);
  line.add("auth.failures_per_network", c.auth_failures_per_network);
  line.add("auth.failures_per_user_network", c.auth_failures_per_user_network);
  line.add("auth.failure_delay_ms", c.auth_failure_delay_ms);
  line.add("auth.user_delay_ms", c.auth_user_delay_ms);
  line.add("auth.checks_per_user", c.auth_checks_per_user);
  line.add("auth.known_network_days", c.auth_known_network_days);
  line.add("auth.cache_seconds", c.auth_cache_seconds);
  line.add("auth.cache_entries", c.auth_cache_entries);
  if (c.oauth) {
    line.add("oauth.issuer", c.oauth->policy.issuer);
    std::string audiences;
    for (const std::string& audience : c.oauth->policy.audiences) audiences += (audiences.empty() ? "" : ",") + audience;
    line.add("oauth.audience", audiences);
    line.add("oauth.jwks_file", c.oauth->jwks_file);
    line.add("oauth.user_claim", c.oauth->user_claim);
    line.add("oauth.leeway_seconds", c.oauth->policy.leeway.count());
    if (!c.oauth->scope.empty()) line.add("oauth.scope", c.oauth->scope);
  }
  line.add("sending_limits.messages_per_hour", c.messages_per_hour);
  line.add("sending_limits.messages_per_day", c.messages_per_day);
  line.add("sending_limits.recipients_per_hour", c.recipients_per_hour);
  line.add("sending_limits.recipients_per_day", c.recipients_per_day);
  line.add("sending_limits.hour_seconds", c.limit_hour_seconds);
  line.add("sending_limits.day_seconds", c.limit_day_seconds);
  line.add("sending_limits.sync_milliseconds", c.limit_sync_milliseconds);
  line.add("policy.local_part_case_sensitive", c.local_part_case_sensitive);
  line.add("policy.subaddress_delimiter", c.subaddress_delimiter);
  line.add("policy.check_header_from", c.check_header_from);
  line.add("policy.address_like_display_names", c.refuse_address_like_display_names ? "refuse" : "allow");
  line.add("submission.add_message_id", c.add_message_id);
  line.add("submission.add_date", c.add_date);
  line.add("submission.add_received", c.add_received);
  line.add("submission.add_x_peer", c.add_x_peer);
  line.add("submission.received_shows_user", c.received_shows_user);
  line.add("logging.level", level_name(c.log_level));
  line.add("shutdown_grace_seconds", c.shutdown_grace_seconds);
  line.add("threads.io", c.io_threads);
  line.add("queue.spool_directory", c.spool_directory);
  // Key ids only: the start-up line says which key seals, never a key.
  std::string seal_keys;
  for (const schema::SealKey& key : c.delivery.seal_keys.all()) {
    seal_keys += (seal_keys.empty() ? "" : ",") + key.id;
  }
  line.add("queue.seal_keys", seal_keys.empty() ? "none" : seal_keys);
  std::string handlers;
  for (const handlers::Handler& h : c.handlers.handlers) {
    handlers += (handlers.empty() ? "" : ",") + h.name + ":" + handlers::action_name(h.action);
  }
  line.add("handlers", handlers.empty() ? "none" : handlers);
  line.add("handler_commands.workers", c.handlers.command_workers);
  line.add("handler_commands.queue", c.handlers.command_queue);
  const delivery::DeliveryConfig& d = c.delivery;
  line.add("delivery.workers", d.workers);
  line.add("delivery.lease_seconds", d.lease_seconds);
  line.add("delivery.lifetime_seconds", d.lifetime_seconds);
  line.add("delivery.first_retry_seconds", d.first_retry_seconds);
  line.add("delivery.max_retry_seconds", d.max_retry_seconds);
  line.add("delivery.poll_seconds", d.poll_seconds);
  std::string dkim_headers;
  for (const std::string& name : d.dkim.headers) dkim_headers += (dkim_headers.empty() ? "" : ",") + name;
  line.add("dkim.enabled", d.dkim.enabled);
  line.add("dkim.headers", dkim_headers);
  const WebhooksConfig& w = c.webhooks;
  line.add("webhooks.endpoints", webhook_endpoints_text(w.endpoints));
  line.add("webhooks.timeout_seconds", w.timeout_seconds);
  line.add("webhooks.concurrency", w.concurrency);
  line.add("webhooks.batch", w.batch);
  line.add("webhooks.poll_milliseconds", w.poll_milliseconds);
  line.add("webhooks.first_retry_seconds", w.first_retry_seconds);
  line.add("webhooks.max_retry_seconds", w.max_retry_seconds);
  line.add("webhooks.give_up_hours", w.give_up_hours);
  if (d.upstreams.empty()) {
    line.add("upstreams", "none");
    return line.str();
  }
  std::string upstreams;
  for (const delivery::Upstream& u : d.upstreams) {
    upstreams += (upstreams.empty() ? "" : ",") + upstream_text(u);
  }
  line.add("upstreams", upstreams);
  std::string routes;
  for (const delivery::Route& r : d.routes) {
    const std::string& match = !r.sender.empty() ? r.sender
                               : !r.sender_domain.empty() ? r.sender_domain
                                                          : "to:" + r.recipient_domain;
    std::string names;
    for (const std::string& u : r.upstreams) names += (names.empty() ? "" : "+") + u;
    routes += (routes.empty() ? "" : ",") + match + ">" + names;
  }
  line.add("routes", routes.empty() ? "none" : routes);
  line.add("default_upstream", d.default_upstream);
  return line.str();
}

}  // namespace postern::config
