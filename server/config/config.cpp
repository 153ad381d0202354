// The keys of postern.yaml: one reader per section, in the order of postern.example.yaml.
// Readers only read; what relates several keys (or needs a secret file) is queued as a check
// and runs once the whole file has been read and no key is unknown.
#include "server/config/config.hpp"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <system_error>
#include <utility>

#include "server/config/config_reader.hpp"
#include "server/config/delivery_config.hpp"
#include "server/config/dkim_config.hpp"
#include "server/config/handlers_config.hpp"
#include "server/config/oauth_config.hpp"
#include "postern/schema/read_file.hpp"
#include "server/config/read_file.hpp"

namespace postern::config {
namespace {

using detail::Checks;
using detail::Empty;
using detail::Section;
using detail::is_domain_name;
using detail::is_ip_address;
using detail::quote;

constexpr const char* kDatabaseUrlVariable = "POSTERN_DATABASE_URL";

// yaml-cpp says "illegal map value" or the like for a tab in indentation, a common slip.
std::string tab_hint(const std::string& text, int line) {
  std::size_t start = 0;
  for (int i = 0; i < line && start != std::string::npos; ++i) {
    start = text.find('\n', start);
    if (start != std::string::npos) ++start;
  }
  if (start == std::string::npos) return "";
  const std::size_t indent_end = text.find_first_not_of(" \t", start);
  const std::string_view indent = std::string_view(text).substr(start, indent_end - start);
  return indent.find('\t') == std::string_view::npos ? "" : " (tabs cannot indent YAML)";
}

std::string system_hostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

void read_hostname(Section& root, Config& cfg) {
  if (root.read("hostname", cfg.hostname)) {
    if (!is_domain_name(cfg.hostname)) {
      root.fail_at("hostname", "expected a domain name, got " + quote(cfg.hostname));
    }
  } else {
    cfg.hostname = system_hostname();
  }
}

// The URL is a secret, so it may come from the environment or a file (a Kubernetes Secret)
// instead of the config file. The environment wins: the same ConfigMap then works everywhere.
void read_database(Section& root, Config& cfg, const Environment& env, Checks& checks) {
  root.section("database", [&](Section& s) {
    std::string url;
    std::string url_file;
    const bool has_url = s.read("url", url);
    const bool has_file = s.read("url_file", url_file);
    s.read("pool_size", cfg.database_pool_size);
    s.read("timeout_seconds", cfg.database_timeout_seconds);
    s.read("wait_timeout_seconds", cfg.database_wait_timeout_seconds);
    checks.push_back([s, url, url_file, has_url, has_file, &cfg, &env] {
      if (has_url && has_file) s.fail_at("url_file", "cannot be combined with database.url");
      if (const auto from_env = env(kDatabaseUrlVariable); from_env && !from_env->empty()) {
        cfg.database_url = *from_env;
      } else if (has_file) {
        cfg.database_url = detail::read_secret_file(s, "url_file", url_file);
      } else if (has_url) {
        cfg.database_url = url;
      } else {
        detail::fail(s.file(), 0, "database.url",
                     "required (or database.url_file, or POSTERN_DATABASE_URL)");
      }
    });
  });
}

void read_tls(Section& root, Config& cfg, Checks& checks) {
  root.section("tls", [&](Section& s) {
    TlsConfig tls;
    const bool has_certificate = s.read("certificate", tls.certificate_file);
    const bool has_key = s.read("key", tls.key_file);
    if (!s.present()) return;
    if (has_certificate && has_key) cfg.tls = tls;
    checks.push_back([s, has_certificate, has_key] {
      if (!has_certificate && !has_key) s.fail_here("expected certificate and key");
      if (!has_key) s.fail_at("key", "required with tls.certificate");
      if (!has_certificate) s.fail_at("certificate", "required with tls.key");
    });
  });
}

// The settings that depend on a listener's kind and role, and their defaults: an LMTP listener
// is inbound, on loopback port 24 or a unix socket, without TLS or AUTH; an inbound one takes port
// 25 and needs the domains it accepts; only inbound ones have them.
void check_listener_kind(const Section& s, ListenerConfig& l) {
  if (l.kind == ListenerKind::Lmtp) {
    if (s.has("role") && l.role == ListenerRole::Submission) {
      s.fail_at("role", "submission is not allowed with kind: lmtp (LMTP is inbound only)");
    }
    l.role = ListenerRole::Inbound;
    for (const std::string_view key : {"tls", "allow_plaintext_auth_on_loopback"}) {
      if (s.has(key)) s.fail_at(key, "not allowed with kind: lmtp");
    }
    if (!s.has("address")) l.address = "127.0.0.1";
    if (!s.has("port")) l.port = 24;
    if (!l.path.empty()) {
      for (const std::string_view key : {"address", "port"}) {
        if (s.has(key)) s.fail_at(key, "cannot be combined with path (a unix socket)");
      }
      if (l.path.front() != '/') s.fail_at("path", "expected an absolute path, got " + quote(l.path));
    }
  } else if (s.has("path")) {
    s.fail_at("path", "not allowed with kind: smtp (a unix socket is for kind: lmtp)");
  }
  if (l.role == ListenerRole::Submission) {
    if (s.has("accept_domains")) s.fail_at("accept_domains", "not allowed with role: submission");
    return;
  }
  if (s.has("allow_plaintext_auth_on_loopback")) {
    s.fail_at("allow_plaintext_auth_on_loopback", "not allowed with role: inbound (no AUTH there)");
  }
  if (l.accept_domains.empty()) s.fail_at("accept_domains", "required with role: inbound and kind: lmtp");
  if (l.kind == ListenerKind::Smtp && !s.has("port")) l.port = 25;
  if (!s.has("dsn")) l.dsn = false;  // no backscatter to forged senders
}

// proxy_protocol and the keys that go with it; not on LMTP, which stays on loopback or a unix socket.
void read_proxy_protocol(Section& s, ListenerConfig& l) {
  s.read("proxy_protocol", l.proxy_protocol);
  std::vector<std::string> cidrs;
  s.read("trusted_proxies", cidrs);
  for (const auto& cidr : cidrs) {
    auto network = net::IpNetwork::parse(cidr);
    if (!network) s.fail_at("trusted_proxies", "expected an IPv4 or IPv6 address or CIDR network, got " + quote(cidr));
    l.trusted_proxies.push_back(*network);
  }
  s.read("proxy_protocol_timeout_seconds", l.proxy_protocol_timeout_seconds, 1, 300);
  if (l.proxy_protocol) {
    if (l.kind == ListenerKind::Lmtp) s.fail_at("proxy_protocol", "not allowed with kind: lmtp");
    if (cidrs.empty()) s.fail_at("trusted_proxies", "required with proxy_protocol: true");
    return;
  }
  for (const std::string_view key : {"trusted_proxies", "proxy_protocol_timeout_seconds"}) {
    if (s.has(key)) s.fail_at(key, "only with proxy_protocol: true");
  }
}

void read_listeners(Section& root, Config& cfg, Checks& checks) {
  std::vector<ListenerConfig> listeners;
  const bool present = root.list("listeners", [&](Section& s) {
    ListenerConfig listener;
    s.read("kind", listener.kind, {{"smtp", ListenerKind::Smtp}, {"lmtp", ListenerKind::Lmtp}});
    s.read("role", listener.role, {{"submission", ListenerRole::Submission}, {"inbound", ListenerRole::Inbound}});
    if (s.read("address", listener.address) && !is_ip_address(listener.address)) {
      s.fail_at("address", "expected an IPv4 or IPv6 address, got " + quote(listener.address));
    }
    s.read("port", listener.port);
    s.read("path", listener.path);
    s.read("tls", listener.tls,
           {{"starttls", ListenerTls::StartTls}, {"implicit", ListenerTls::Implicit}});
    s.read("allow_plaintext_auth_on_loopback", listener.allow_plaintext_auth_on_loopback);
    listener.accept_domains = read_domains(s, "accept_domains");
    s.read("dsn", listener.dsn);
    check_listener_kind(s, listener);
    read_proxy_protocol(s, listener);
    if (listener.tls == ListenerTls::Implicit) {
      checks.push_back([s, &cfg] {
        if (!cfg.tls) s.fail_at("tls", "implicit needs a tls section (certificate and key)");
      });
    }
    listeners.push_back(listener);
  });
  if (!present) return;
  if (listeners.empty()) root.fail_at("listeners", "at least one listener is required");
  cfg.listeners = std::move(listeners);
}

void read_http(Section& root, Config& cfg) {
  root.section("http", [&](Section& s) {
    if (s.read("address", cfg.http.address) && !is_ip_address(cfg.http.address)) {
      s.fail_at("address", "expected an IPv4 or IPv6 address, got " + quote(cfg.http.address));
    }
    s.read("port", cfg.http.port, 0);  // 0 disables the endpoint
    s.read("database_check_seconds", cfg.http.database_check_seconds, 1, 3600);
  });
}

void read_limits(Section& root, Config& cfg) {
  root.section("limits", [&](Section& s) {
    s.read("max_message_size", cfg.max_message_size);
    s.read("max_recipients", cfg.max_recipients);
    s.read("max_errors", cfg.max_errors);
    s.read("max_idle_commands", cfg.max_idle_commands);
    s.read("max_connections", cfg.max_connections);
    s.read("max_connections_per_ip", cfg.max_connections_per_ip);
    s.read("command_timeout_seconds", cfg.command_timeout_seconds);
    s.read("data_timeout_seconds", cfg.data_timeout_seconds);
    s.read("auth_timeout_seconds", cfg.auth_timeout_seconds);
    s.read("session_timeout_seconds", cfg.session_timeout_seconds);
  });
}

// Keys of releases that refused a user everywhere after failures from anywhere.
void refuse_old_auth_keys(const Section& s) {
  if (s.has("failures_per_ip")) {
    s.fail_at("failures_per_ip", "renamed failures_per_network: failures are counted per client network "
                                 "(an IPv4 address, an IPv6 /64)");
  }
  if (s.has("failures_per_user")) {
    s.fail_at("failures_per_user", "removed: failures no longer refuse a user from every address; see "
                                   "failures_per_user_network, user_delay_ms and checks_per_user");
  }
}

void read_auth(Section& root, Config& cfg) {
  root.section("auth", [&](Section& s) {
    // libsodium's floors (crypto_pwhash_MEMLIMIT_MIN is 8 KiB, OPSLIMIT_MIN is 1).
    s.read("argon2_memory_kib", cfg.argon2_memory_kib, 8);
    s.read("argon2_iterations", cfg.argon2_iterations, 1);
    s.read("hash_threads", cfg.auth_hash_threads, 0, 1024);
    s.read("hash_queue", cfg.auth_hash_queue, 0);
    s.read("failure_window_seconds", cfg.auth_failure_window_seconds);
    s.read("failures_per_network", cfg.auth_failures_per_network);
    s.read("failures_per_user_network", cfg.auth_failures_per_user_network);
    s.read("failure_delay_ms", cfg.auth_failure_delay_ms, 0, 60000);
    s.read("user_delay_ms", cfg.auth_user_delay_ms, 0, 60000);
    s.read("checks_per_user", cfg.auth_checks_per_user);
    s.read("known_network_days", cfg.auth_known_network_days, 0, 3650);
    s.read("cache_seconds", cfg.auth_cache_seconds, 0, 86400);
    s.read("cache_entries", cfg.auth_cache_entries, 1);
    refuse_old_auth_keys(s);
  });
}

void read_sending_limits(Section& root, Config& cfg) {
  root.section("sending_limits", [&](Section& s) {
    s.read("messages_per_hour", cfg.messages_per_hour, 0);
    s.read("messages_per_day", cfg.messages_per_day, 0);
    s.read("recipients_per_hour", cfg.recipients_per_hour, 0);
    s.read("recipients_per_day", cfg.recipients_per_day, 0);
    s.read("hour_seconds", cfg.limit_hour_seconds, 1, 86400);
    s.read("day_seconds", cfg.limit_day_seconds, 2, 31 * 86400);
    // Two different windows: a user's counts in each are rows of their own in PostgreSQL.
    if (cfg.limit_day_seconds <= cfg.limit_hour_seconds) {
      s.fail_at(s.has("day_seconds") ? "day_seconds" : "hour_seconds",
                "day_seconds (" + std::to_string(cfg.limit_day_seconds) + ") must be longer than hour_seconds (" +
                    std::to_string(cfg.limit_hour_seconds) + ")");
    }
    s.read("sync_milliseconds", cfg.limit_sync_milliseconds, 100, 60000);
  });
}

void read_policy(Section& root, Config& cfg) {
  root.section("policy", [&](Section& s) {
    s.read("local_part_case_sensitive", cfg.local_part_case_sensitive);
    if (s.read("subaddress_delimiter", cfg.subaddress_delimiter, Empty::Allowed)) {
      // The sender rule splits dot-string local parts only, so a delimiter must be one of their
      // non-alphanumeric characters.
      static constexpr std::string_view kAllowed = "+-_.=!#$%&'*/?^`{|}~";
      const std::string& d = cfg.subaddress_delimiter;
      if (d.size() > 1 || (d.size() == 1 && kAllowed.find(d[0]) == std::string_view::npos)) {
        s.fail_at("subaddress_delimiter", "expected \"\" or one of the characters " +
                                              std::string(kAllowed) + ", got " + quote(d));
      }
    }
    s.read("check_header_from", cfg.check_header_from);
    s.read("address_like_display_names", cfg.refuse_address_like_display_names,
           {{"refuse", true}, {"allow", false}});
  });
}

void read_submission(Section& root, Config& cfg) {
  root.section("submission", [&](Section& s) {
    s.read("add_message_id", cfg.add_message_id);
    s.read("add_date", cfg.add_date);
    s.read("add_received", cfg.add_received);
    s.read("add_x_peer", cfg.add_x_peer);
    s.read("received_shows_user", cfg.received_shows_user);
  });
}

void read_logging(Section& root, Config& cfg) {
  root.section("logging", [&](Section& s) {
    s.read("level", cfg.log_level,
           {{"debug", LogLevel::Debug},
            {"info", LogLevel::Info},
            {"warning", LogLevel::Warning},
            {"error", LogLevel::Error}});
  });
}

void read_queue(Section& root, Config& cfg, const Environment& env) {
  root.section("queue", [&](Section& s) {
    if (s.read("spool_directory", cfg.spool_directory) && !cfg.spool_directory.starts_with('/')) {
      s.fail_at("spool_directory", "expected an absolute path, got " + quote(cfg.spool_directory));
    }
    if (s.read("seal_key_files", cfg.seal_key_files) && !cfg.seal_key_files.empty()) {
      try {
        cfg.delivery.seal_keys = schema::load_seal_keys(cfg.seal_key_files);
      } catch (const schema::SealKeyFileError& e) {
        s.fail_at("seal_key_files", e.what());
      }
    }
  });
  if (!cfg.spool_directory.empty()) return;
  // The system's temporary directory, as std::filesystem::temp_directory_path() finds it.
  const auto tmpdir = env("TMPDIR");
  cfg.spool_directory = tmpdir && tmpdir->starts_with('/') ? *tmpdir : "/tmp";
}

void read_threads(Section& root, Config& cfg) {
  root.section("threads", [&](Section& s) {
    s.read("io", cfg.io_threads, 0);
  });
}

}  // namespace

Config parse_config(const std::string& yaml_text, const std::string& file_name_for_errors,
                    const Environment& env) {
  const std::string& file = file_name_for_errors;
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(yaml_text);
  } catch (const YAML::Exception& e) {
    detail::fail(file, e.mark.line + 1, "",
                 "YAML syntax error: " + e.msg + tab_hint(yaml_text, e.mark.line));
  }
  if (documents.size() > 1) {
    detail::fail(file, documents[1].Mark().line + 1, "", "expected one YAML document, found more");
  }

  Config cfg;
  Checks checks;
  Section root = Section::root(documents.empty() ? YAML::Node() : documents[0], file);
  read_hostname(root, cfg);
  read_database(root, cfg, env, checks);
  read_tls(root, cfg, checks);
  read_listeners(root, cfg, checks);
  read_http(root, cfg);
  detail::read_admin_api(root, cfg.admin_api, env, checks);
  read_limits(root, cfg);
  read_auth(root, cfg);
  detail::read_oauth(root, cfg.oauth, checks);
  read_sending_limits(root, cfg);
  read_policy(root, cfg);
  read_submission(root, cfg);
  read_logging(root, cfg);
  root.read("shutdown_grace_seconds", cfg.shutdown_grace_seconds, 0);
  read_threads(root, cfg);
  read_queue(root, cfg, env);
  detail::read_delivery(root, cfg.delivery, env, checks);
  cfg.delivery.subaddress_delimiter = cfg.subaddress_delimiter;
  detail::read_dkim(root, cfg.delivery.dkim);
  detail::read_handlers(root, cfg, checks);
  detail::read_webhooks(root, cfg.webhooks, cfg.delivery.webhooks, env, checks);
  root.finish();
  for (const auto& check : checks) check();
  return cfg;
}

Config load_config(const std::string& path) {
  std::string text;
  try {
    text = schema::read_file(path);
  } catch (const std::system_error& e) {
    throw ConfigError(path + ": cannot read: " + e.code().message());
  }
  return parse_config(text, path, [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  });
}

}  // namespace postern::config
