// The hpfeeds login proof: SHA-1 over the broker's nonce (from its INFO frame) followed by the
// secret, as 20 raw bytes for encode_auth (encode.hpp). The nonce changes per connection, so a
// recorded AUTH frame is no good on the next one; the secret itself never goes on the wire.
//
//   std::string bytes = encode_auth(ident, auth_hash(info.nonce, secret));
#pragma once

#include <string>
#include <string_view>

namespace hpfeeds {

// SHA-1(nonce ‖ secret), 20 bytes. Throws std::runtime_error if libcrypto fails.
std::string auth_hash(std::string_view nonce, std::string_view secret);

}  // namespace hpfeeds
