// The `admin_api:` section of postern.yaml: the admin HTTP API's own listener (server/admin). Off
// unless the section is present. It listens on loopback (127.0.0.1:9080) or a unix socket, TLS
// optional; it connects to PostgreSQL with a URL of its own (the owner or an admin role, never
// the relay's role), from POSTERN_ADMIN_DATABASE_URL or database_url_file; its bearer tokens are
// in tokens_file (format: server/admin/token_store.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace postern::config {

struct AdminApiConfig {
  std::string address = "127.0.0.1";  // an IPv4 or IPv6 literal
  std::uint16_t port = 9080;
  std::string path;                   // a unix socket instead of address and port
  std::string database_url;           // secret: POSTERN_ADMIN_DATABASE_URL, else database_url_file
  std::string tokens_file;
  std::string tls_certificate_file;   // both set, or both empty: no TLS
  std::string tls_key_file;
  std::size_t max_body_bytes = 65536;
  unsigned requests_per_second = 20;  // per token (per peer before a token is known)
  unsigned burst = 40;                // requests allowed at once on top of the rate
  unsigned max_connections = 16;
  unsigned database_pool_size = 2;    // threads (one connection each) for the API's queries
  unsigned timeout_seconds = 10;      // reading a request, writing a response, waiting for PostgreSQL

  bool tls() const { return !tls_certificate_file.empty(); }

  friend bool operator==(const AdminApiConfig&, const AdminApiConfig&) = default;  // a reload compares
};

namespace detail {

class Section;

// Reads `admin_api:` into `cfg` (left empty when the section is absent); the URL and the
// requirements that relate keys are queued on `checks`.
void read_admin_api(Section& root, std::optional<AdminApiConfig>& cfg,
                    const std::function<std::optional<std::string>(const std::string&)>& env,
                    std::vector<std::function<void()>>& checks);

}  // namespace detail
}  // namespace postern::config
