// What verify_jwt() (jwt.hpp) checks a token's claims against: oauth: of postern.yaml.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace postern::oauth {

struct JwtPolicy {
  std::string issuer;
  std::vector<std::string> audiences;  // the token's aud must name at least one
  std::chrono::seconds leeway{60};     // clock skew allowed on exp and nbf

  friend bool operator==(const JwtPolicy&, const JwtPolicy&) = default;  // a reload compares
};

}  // namespace postern::oauth
