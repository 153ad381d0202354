#include "server/smtp/sasl.hpp"

#include "server/smtp/base64.hpp"

namespace smtp {

std::optional<std::string> decode_initial_response(std::string_view argument) {
  if (argument == "=") return std::string();
  return base64_decode(argument);
}

std::optional<PlainMessage> parse_plain_message(std::string_view decoded) {
  const std::size_t first = decoded.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  const std::size_t second = decoded.find('\0', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  const std::string_view authcid = decoded.substr(first + 1, second - first - 1);
  const std::string_view password = decoded.substr(second + 1);
  if (authcid.empty() || password.empty() || password.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  return PlainMessage{std::string(decoded.substr(0, first)), std::string(authcid), std::string(password)};
}

}  // namespace smtp
