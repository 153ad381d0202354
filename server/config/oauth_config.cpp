// See oauth_config.hpp.
#include "server/config/oauth_config.hpp"

#include "server/config/config_reader.hpp"

namespace postern::config::detail {
namespace {

constexpr std::size_t kMaxScope = 200;  // the error challenge stays within one reply line

// Scope tokens separated by spaces (RFC 6749 §3.3): nothing that JSON would need escaped.
bool is_scope(const std::string& scope) {
  if (scope.size() > kMaxScope) return false;
  for (const char c : scope) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

void read_oauth(Section& root, std::optional<OAuthConfig>& oauth, Checks& checks) {
  root.section("oauth", [&](Section& s) {
    if (!s.present()) return;
    OAuthConfig config;
    const bool has_issuer = s.read("issuer", config.policy.issuer);
    const bool has_audience = s.read_one_or_more("audience", config.policy.audiences);
    unsigned leeway = 60;
    s.read("leeway_seconds", leeway, 0, 3600);
    config.policy.leeway = std::chrono::seconds{leeway};
    s.read("user_claim", config.user_claim, {{"email", std::string("email")}, {"sub", std::string("sub")}});
    if (s.read("scope", config.scope) && !is_scope(config.scope)) {
      s.fail_at("scope", "expected scope tokens separated by spaces (printable ASCII but '\"' and '\\', at most " +
                             std::to_string(kMaxScope) + " characters), got " + quote(config.scope));
    }
    const bool has_jwks_file = s.read("jwks_file", config.jwks_file);
    // After the whole file: a misspelt key is reported as unknown, not as a missing one.
    checks.push_back([s, config, has_issuer, has_audience, has_jwks_file, &oauth]() mutable {
      if (!has_issuer) s.fail_at("issuer", "required in the oauth section");
      if (!has_audience) s.fail_at("audience", "required in the oauth section (a string or a list of strings)");
      if (!has_jwks_file) s.fail_at("jwks_file", "required in the oauth section");
      if (!config.jwks_file.starts_with('/')) {
        s.fail_at("jwks_file", "expected an absolute path, got " + quote(config.jwks_file));
      }
      try {
        config.jwks = oauth::load_jwks_file(config.jwks_file);
      } catch (const oauth::JwksError& e) {
        s.fail_at("jwks_file", e.what());
      }
      oauth = std::move(config);
    });
  });
}

}  // namespace postern::config::detail
