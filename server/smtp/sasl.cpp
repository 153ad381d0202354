#include "server/smtp/sasl.hpp"

#include "server/smtp/ascii.hpp"
#include "server/smtp/base64.hpp"

namespace smtp {
namespace {

constexpr char kSeparator = '\x01';  // kvsep (RFC 7628 §3.1)

// RFC 6750 §2.1: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool is_b64token(std::string_view token) {
  const std::size_t end = token.find_last_not_of('=');
  if (end == std::string_view::npos) return false;
  for (std::size_t i = 0; i <= end; ++i) {
    const char c = token[i];
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("-._~+/").find(c) == std::string_view::npos) return false;
  }
  return true;
}

// "Bearer" 1*SP b64token, the scheme matched without case (RFC 7235 §2.1).
std::optional<std::string> bearer_token(std::string_view value) {
  constexpr std::string_view kScheme = "Bearer ";
  if (!equals_ignoring_case(value.substr(0, kScheme.size()), kScheme)) return std::nullopt;
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (!is_b64token(value)) return std::nullopt;
  return std::string(value);
}

// saslname (RFC 5801 §4): "=2C" is ',' and "=3D" is '='; any other '=' is an error.
std::optional<std::string> decode_saslname(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '=') {
      out += name[i];
    } else if (name.substr(i, 3) == "=2C") {
      out += ',';
      i += 2;
    } else if (name.substr(i, 3) == "=3D") {
      out += '=';
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// key 1*ALPHA; value *(VCHAR / SP / HTAB / CR / LF) (RFC 7628 §3.1).
bool is_kvpair(std::string_view key, std::string_view value) {
  if (key.empty()) return false;
  for (const char c : key) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (!((u >= 0x21 && u <= 0x7E) || c == ' ' || c == '\t' || c == '\r' || c == '\n')) return false;
  }
  return true;
}

}  // namespace

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


std::optional<BearerMessage> parse_oauthbearer_message(std::string_view decoded) {
  // gs2-header: flag "," [authzid] ","
  const std::size_t flag_end = decoded.find(',');
  if (flag_end == std::string_view::npos) return std::nullopt;
  const std::string_view flag = decoded.substr(0, flag_end);
  if (flag != "n" && flag != "y") return std::nullopt;
  const std::size_t authzid_end = decoded.find(',', flag_end + 1);
  if (authzid_end == std::string_view::npos) return std::nullopt;
  const std::string_view authzid = decoded.substr(flag_end + 1, authzid_end - flag_end - 1);
  BearerMessage message;
  if (!authzid.empty()) {
    if (!authzid.starts_with("a=")) return std::nullopt;
    std::optional<std::string> name = decode_saslname(authzid.substr(2));
    if (!name || name->empty()) return std::nullopt;
    message.user = std::move(*name);
  }
  // kvsep *kvpair kvsep: every pair ends in kvsep, and one more ends the message.
  std::string_view rest = decoded.substr(authzid_end + 1);
  if (rest.size() < 2 || rest.front() != kSeparator || !rest.ends_with(std::string_view("\x01\x01", 2))) {
    return std::nullopt;
  }
  rest = rest.substr(1, rest.size() - 2);  // the pairs, each followed by kvsep
  bool has_auth = false;
  while (!rest.empty()) {
    const std::size_t end = rest.find(kSeparator);
    if (end == std::string_view::npos) return std::nullopt;
    const std::string_view pair = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    const std::size_t equals = pair.find('=');
    if (equals == std::string_view::npos || !is_kvpair(pair.substr(0, equals), pair.substr(equals + 1))) {
      return std::nullopt;
    }
    if (pair.substr(0, equals) != "auth") continue;  // host, port: nothing to check them against
    std::optional<std::string> token = bearer_token(pair.substr(equals + 1));
    if (has_auth || !token) return std::nullopt;
    has_auth = true;
    message.token = std::move(*token);
  }
  if (!has_auth) return std::nullopt;
  return message;
}

std::optional<BearerMessage> parse_xoauth2_message(std::string_view decoded) {
  constexpr std::string_view kUser = "user=";
  constexpr std::string_view kAuth = "auth=";
  if (!decoded.starts_with(kUser) || !decoded.ends_with(std::string_view("\x01\x01", 2))) return std::nullopt;
  const std::size_t user_end = decoded.find(kSeparator);
  if (user_end + 1 > decoded.size() - 2) return std::nullopt;  // "user=...\x01\x01": no auth at all
  const std::string_view user = decoded.substr(kUser.size(), user_end - kUser.size());
  const std::string_view auth = decoded.substr(user_end + 1, decoded.size() - 2 - (user_end + 1));
  if (user.empty() || !auth.starts_with(kAuth)) return std::nullopt;
  for (const char c : user) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u == 0x7F) return std::nullopt;
  }
  std::optional<std::string> token = bearer_token(auth.substr(kAuth.size()));
  if (!token) return std::nullopt;
  return BearerMessage{std::string(user), std::move(*token)};
}

std::string bearer_error_challenge(std::string_view scope) {
  std::string json = R"({"status":"invalid_token","schemes":"bearer")";
  if (!scope.empty()) json += R"(,"scope":")" + std::string(scope) + '"';
  json += '}';
  return base64_encode(json);
}

}  // namespace smtp
