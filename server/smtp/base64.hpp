// Strict base64 decoding for SASL exchanges (RFC 4954 §4 uses the RFC 4648 §4 alphabet).
// Call base64_decode(text): it returns the decoded bytes, or nothing when the text is not
// canonical base64 — wrong length, missing padding, characters outside the alphabet (including
// whitespace), padding in the middle, or non-zero bits in the padding (RFC 4648 §3.5).
// base64_encode(bytes) is the other way, for the SMTP client's AUTH.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smtp {

std::optional<std::string> base64_decode(std::string_view text);

// Canonical base64 with padding.
std::string base64_encode(std::string_view bytes);

}  // namespace smtp
