// Bytes as lower-case hex, and the SHA-256 of a text that way: what checksums, token hashes,
// signatures and journal digests print.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace postern::schema {

std::string lower_hex(const unsigned char* bytes, std::size_t size);

// The SHA-256 of `text` in 64 hex digits.
std::string sha256_hex(std::string_view text);

}  // namespace postern::schema
