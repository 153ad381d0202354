// See jwt.hpp.
#include "server/oauth/jwt.hpp"

#include "server/oauth/base64url.hpp"
#include "server/oauth/signature.hpp"

#include <algorithm>
#include <optional>

namespace postern::oauth {
namespace {

using Json = nlohmann::json;

struct Parts {
  std::string_view signing_input;  // header.payload, as signed
  Json header;
  Json payload;
  std::string signature;
};

std::optional<Json> decode_object(std::string_view part) {
  const std::optional<std::string> text = base64url_decode(part);
  if (!text) return std::nullopt;
  Json json = Json::parse(*text, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  return json;
}

std::optional<Parts> split(std::string_view token) {
  const std::size_t first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const std::size_t second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  std::optional<Json> header = decode_object(token.substr(0, first));
  std::optional<Json> payload = decode_object(token.substr(first + 1, second - first - 1));
  std::optional<std::string> signature = base64url_decode(token.substr(second + 1));
  if (!header || !payload || !signature) return std::nullopt;
  return Parts{token.substr(0, second), std::move(*header), std::move(*payload), std::move(*signature)};
}

// A NumericDate claim (RFC 7519 §2): seconds since the epoch, maybe with a fraction.
std::optional<double> seconds_claim(const Json& payload, const char* name) {
  const auto it = payload.find(name);
  if (it == payload.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

bool names_an_audience(const Json& aud, const std::vector<std::string>& audiences) {
  const auto accepted = [&](const Json& one) {
    return one.is_string() &&
           std::find(audiences.begin(), audiences.end(), one.get_ref<const std::string&>()) != audiences.end();
  };
  if (aud.is_array()) return std::any_of(aud.begin(), aud.end(), accepted);
  return accepted(aud);
}

JwtError check_claims(const Json& payload, const JwtPolicy& policy, std::chrono::system_clock::time_point now) {
  for (const char* name : {"exp", "nbf"}) {
    if (payload.contains(name) && !payload[name].is_number()) return JwtError::Malformed;
  }
  const auto iss = payload.find("iss");
  if (iss == payload.end() || !iss->is_string() || *iss != policy.issuer) return JwtError::WrongIssuer;
  const auto aud = payload.find("aud");
  if (aud == payload.end() || !names_an_audience(*aud, policy.audiences)) return JwtError::WrongAudience;
  const double current = std::chrono::duration<double>(now.time_since_epoch()).count();
  const auto leeway = static_cast<double>(policy.leeway.count());
  const std::optional<double> exp = seconds_claim(payload, "exp");
  if (!exp) return JwtError::NoExpiry;
  if (current >= *exp + leeway) return JwtError::Expired;  // RFC 7519 §4.1.4: on or after exp
  if (const std::optional<double> nbf = seconds_claim(payload, "nbf"); nbf && current + leeway < *nbf) {
    return JwtError::NotYetValid;
  }
  return JwtError::None;
}

}  // namespace

std::string_view describe(JwtError error) {
  switch (error) {
    case JwtError::None: return "valid";
    case JwtError::Malformed: return "malformed token";
    case JwtError::UnsupportedAlgorithm: return "unsupported algorithm";
    case JwtError::UnknownKey: return "unknown key";
    case JwtError::BadSignature: return "bad signature";
    case JwtError::WrongIssuer: return "wrong issuer";
    case JwtError::WrongAudience: return "wrong audience";
    case JwtError::NoExpiry: return "no expiry";
    case JwtError::Expired: return "expired";
    case JwtError::NotYetValid: return "not yet valid";
  }
  return "unknown";
}

JwtVerdict verify_jwt(std::string_view token, const Keys& keys, const JwtPolicy& policy,
                      std::chrono::system_clock::time_point now) {
  std::optional<Parts> parts = split(token);
  if (!parts) return {JwtError::Malformed, nullptr};
  const Json& header = parts->header;
  const auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string()) return {JwtError::Malformed, nullptr};
  const std::optional<Algorithm> algorithm = algorithm_named(alg->get_ref<const std::string&>());
  if (!algorithm) return {JwtError::UnsupportedAlgorithm, nullptr};
  // Extensions that must be understood (RFC 7515 §4.1.11): Postern understands none.
  if (header.contains("crit")) return {JwtError::Malformed, nullptr};
  const auto kid = header.find("kid");
  if (kid != header.end() && !kid->is_string()) return {JwtError::Malformed, nullptr};

  bool candidate = false;
  bool verified = false;
  for (const PublicKey& key : keys) {
    if (key.algorithm != *algorithm) continue;
    if (kid != header.end() && key.kid != kid->get_ref<const std::string&>()) continue;
    candidate = true;
    if (verify_signature(key, parts->signing_input, parts->signature)) {
      verified = true;
      break;
    }
  }
  if (!candidate) return {JwtError::UnknownKey, nullptr};
  if (!verified) return {JwtError::BadSignature, nullptr};
  const JwtError claims_error = check_claims(parts->payload, policy, now);
  return {claims_error, std::move(parts->payload)};
}

}  // namespace postern::oauth
