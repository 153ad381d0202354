// base64url without padding (RFC 4648 §5, RFC 7515 §2): the encoding of every part of a JWS and
// of a JWK's numbers. Strict: padding, whitespace, characters outside the alphabet, a length
// that no byte count has, and non-zero unused bits are all refused, so each byte string has one
// encoding only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace postern::oauth {

std::optional<std::string> base64url_decode(std::string_view text);

std::string base64url_encode(std::string_view bytes);

}  // namespace postern::oauth
