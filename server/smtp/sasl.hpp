// The SASL mechanisms Postern offers after TLS: PLAIN (RFC 4616) and LOGIN
// (draft-murchison-sasl-login). Call decode_initial_response() on AUTH's optional argument and
// base64_decode() on continuation lines, then parse_plain_message() for PLAIN.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smtp {

// LOGIN's challenges, base64 of "Username:" and "Password:".
inline constexpr std::string_view kLoginUsernameChallenge = "VXNlcm5hbWU6";
inline constexpr std::string_view kLoginPasswordChallenge = "UGFzc3dvcmQ6";

struct PlainMessage {
  std::string authzid;  // empty when the client does not ask to act as someone else
  std::string authcid;
  std::string password;
};

// AUTH's initial response: base64, where a lone "=" stands for an empty response (RFC 4954 §4).
// Nothing when it is not valid base64.
std::optional<std::string> decode_initial_response(std::string_view argument);

// authzid NUL authcid NUL passwd, with non-empty authcid and passwd (RFC 4616 §2).
std::optional<PlainMessage> parse_plain_message(std::string_view decoded);

}  // namespace smtp
