// The SASL mechanisms Postern offers after TLS: PLAIN (RFC 4616) and LOGIN
// (draft-murchison-sasl-login), and with OAuth configured OAUTHBEARER (RFC 7628) and XOAUTH2
// (Google's). Call decode_initial_response() on AUTH's optional argument and base64_decode() on
// continuation lines, then parse_plain_message() for PLAIN, parse_oauthbearer_message() or
// parse_xoauth2_message() for the bearer tokens.
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

// A bearer token login: the token, and who the client says it is.
struct BearerMessage {
  std::string user;   // OAUTHBEARER's authzid (a=, decoded), XOAUTH2's user=; "" when not given
  std::string token;  // RFC 6750 §2.1 b64token
};

// AUTH's initial response: base64, where a lone "=" stands for an empty response (RFC 4954 §4).
// Nothing when it is not valid base64.
std::optional<std::string> decode_initial_response(std::string_view argument);

// authzid NUL authcid NUL passwd, with non-empty authcid and passwd (RFC 4616 §2).
std::optional<PlainMessage> parse_plain_message(std::string_view decoded);

// gs2-header kvsep *(key "=" value kvsep) kvsep (RFC 7628 §3.1), e.g.
// "n,a=alice@example.com,\x01host=mx\x01port=587\x01auth=Bearer <token>\x01\x01". The gs2 flag
// must be "n" or "y": there is no channel binding. Exactly one auth pair, scheme "Bearer".
std::optional<BearerMessage> parse_oauthbearer_message(std::string_view decoded);

// "user=" user %x01 "auth=Bearer " token %x01 %x01, with a non-empty user.
std::optional<BearerMessage> parse_xoauth2_message(std::string_view decoded);

// The RFC 7628 §3.2.2 error, base64, for the 334 challenge that refuses a token:
// {"status":"invalid_token","schemes":"bearer","scope":"<scope>"}, without scope when it is "".
// `scope` is scope-tokens separated by spaces (RFC 6749 §3.3): nothing to escape in JSON.
std::string bearer_error_challenge(std::string_view scope);

}  // namespace smtp
