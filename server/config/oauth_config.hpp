// `oauth:` of postern.yaml: bearer token logins (AUTH OAUTHBEARER and XOAUTH2). Without the
// section they are not offered. The JWK Set file is read here, so that a missing or broken one
// stops the start (or a reload) with an error naming oauth.jwks_file.
#pragma once

#include "server/oauth/jwks.hpp"
#include "server/oauth/jwt_policy.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace postern::config {

struct OAuthConfig {
  oauth::JwtPolicy policy;              // issuer, audience (one or more), leeway_seconds
  std::string jwks_file;
  std::string user_claim = "email";     // email or sub: whose login the token is
  std::string scope;                    // told to clients in the RFC 7628 error; "" leaves it out
  oauth::JwkSet jwks;                   // read from jwks_file

  friend bool operator==(const OAuthConfig&, const OAuthConfig&) = default;  // a reload compares
};

namespace detail {

// Reads the section; its checks (required keys, the JWK Set file) join `checks` (config_reader.hpp).
class Section;
void read_oauth(Section& root, std::optional<OAuthConfig>& oauth, std::vector<std::function<void()>>& checks);

}  // namespace detail
}  // namespace postern::config
