#include "shares/sharing_params.hpp"

namespace postern::shares {

std::string_view scheme_name(Scheme scheme) {
  return scheme == Scheme::Xor ? "xor" : "shamir";
}

std::optional<Scheme> parse_scheme(std::string_view name) {
  if (name == "xor") return Scheme::Xor;
  if (name == "shamir") return Scheme::Shamir;
  return std::nullopt;
}

std::string params_problem(const SharingParams& params) {
  const std::string k = std::to_string(params.threshold);
  const std::string n = std::to_string(params.count);
  if (params.count < 2) return "share count " + n + " is below 2";
  if (params.count > kMaxShareCount) return "share count " + n + " is above 255";
  if (params.threshold < 2) return "threshold " + k + " is below 2";
  if (params.threshold > params.count) return "threshold " + k + " is above the share count " + n;
  if (params.scheme == Scheme::Xor && params.threshold != params.count) {
    return "XOR sharing needs all shares: threshold " + k + " differs from the share count " + n;
  }
  return {};
}

unsigned draws_per_byte(const SharingParams& params) {
  return params.scheme == Scheme::Xor ? params.count - 1 : params.threshold - 1;
}

}  // namespace postern::shares
