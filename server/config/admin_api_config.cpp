// The `admin_api:` keys of postern.yaml. See admin_api_config.hpp.
#include "server/config/admin_api_config.hpp"

#include "server/config/config_reader.hpp"
#include "server/config/read_file.hpp"

namespace postern::config::detail {
namespace {

constexpr const char* kAdminDatabaseUrlVariable = "POSTERN_ADMIN_DATABASE_URL";

void read_listener(Section& s, AdminApiConfig& api) {
  if (s.read("address", api.address) && !is_ip_address(api.address)) {
    s.fail_at("address", "expected an IPv4 or IPv6 address, got " + quote(api.address));
  }
  s.read("port", api.port);
  if (!s.read("path", api.path)) return;
  if (api.path.front() != '/') s.fail_at("path", "expected an absolute path, got " + quote(api.path));
  for (const std::string_view key : {"address", "port"}) {
    if (s.has(key)) s.fail_at(key, "cannot be combined with path (a unix socket)");
  }
}

void read_tls(Section& s, AdminApiConfig& api, Checks& checks) {
  s.section("tls", [&](Section& tls) {
    const bool has_certificate = tls.read("certificate", api.tls_certificate_file);
    const bool has_key = tls.read("key", api.tls_key_file);
    if (!tls.present()) return;
    checks.push_back([tls, has_certificate, has_key] {
      if (!has_certificate && !has_key) tls.fail_here("expected certificate and key");
      if (!has_key) tls.fail_at("key", "required with admin_api.tls.certificate");
      if (!has_certificate) tls.fail_at("certificate", "required with admin_api.tls.key");
    });
  });
}

}  // namespace

void read_admin_api(Section& root, std::optional<AdminApiConfig>& cfg,
                    const std::function<std::optional<std::string>(const std::string&)>& env, Checks& checks) {
  AdminApiConfig api;
  bool present = false;
  root.section("admin_api", [&](Section& s) {
    present = s.present();
    read_listener(s, api);
    std::string url_file;
    const bool has_url_file = s.read("database_url_file", url_file);
    if (s.has("database_url")) {
      s.fail_at("database_url", "the URL is a secret: use database_url_file or " +
                                    std::string(kAdminDatabaseUrlVariable));
    }
    const bool has_tokens = s.read("tokens_file", api.tokens_file);
    read_tls(s, api, checks);
    s.read("max_body_bytes", api.max_body_bytes, 1024, 16 * 1024 * 1024);
    s.read("requests_per_second", api.requests_per_second, 1, 100000);
    if (!s.read("burst", api.burst, 1, 100000)) api.burst = 2 * api.requests_per_second;
    s.read("max_connections", api.max_connections, 1, 10000);
    s.read("database_pool_size", api.database_pool_size, 1, 64);
    s.read("timeout_seconds", api.timeout_seconds, 1, 3600);
    if (!present) return;
    checks.push_back([s, url_file, has_url_file, has_tokens, &cfg, &env] {
      if (!has_tokens) s.fail_at("tokens_file", "required with admin_api");
      if (const auto from_env = env(kAdminDatabaseUrlVariable); from_env && !from_env->empty()) {
        cfg->database_url = *from_env;
      } else if (has_url_file) {
        cfg->database_url = read_secret_file(s, "database_url_file", url_file);
      } else {
        s.fail_at("database_url_file", std::string("required (or ") + kAdminDatabaseUrlVariable + ")");
      }
    });
  });
  if (present) cfg = std::move(api);
}

}  // namespace postern::config::detail
