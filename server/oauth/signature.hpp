// The signature check of a JWS (RFC 7515 §5.2) for RS256 (RSASSA-PKCS1-v1_5 with SHA-256) and
// ES256 (ECDSA on P-256 with SHA-256, RFC 7518 §3.4). An ES256 signature is R and S as 32 bytes
// each, concatenated; a DER-encoded one (what OpenSSL itself makes) is refused, as is any
// signature of the wrong length for its key.
#pragma once

#include "server/oauth/jwks.hpp"

#include <string_view>

namespace postern::oauth {

bool verify_signature(const PublicKey& key, std::string_view signing_input, std::string_view signature);

}  // namespace postern::oauth
