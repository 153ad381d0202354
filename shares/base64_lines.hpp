// Base64 (RFC 4648 §4 alphabet, padded) as a MIME body carries it (RFC 2045 §6.8): lines of 76
// characters ending in CRLF, encoded while the bytes stream, whatever the piece boundaries.
//
//   Base64LineEncoder encoder;
//   for (piece : bytes) out += encoder.encode(piece);
//   out += encoder.finish();
//
//   std::optional<std::string> bytes = decode_base64_lines(body);   // any line length
//   std::string one_line = encode_base64(bytes);                     // no line breaks
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace postern::shares {

inline constexpr std::size_t kBase64LineLength = 76;

class Base64LineEncoder {
 public:
  // The complete lines the bytes so far make; up to one line's bytes wait for more.
  std::string encode(std::string_view bytes);

  // The last line, padded; nothing when the bytes ended on a line boundary or there were none.
  std::string finish();

  // How many characters (line ends included) `byte_count` bytes encode to.
  static std::uint64_t encoded_size(std::uint64_t byte_count);

 private:
  std::string pending_;  // fewer than one line's worth (57 bytes)
};

// The base64 of `bytes` in one piece, padded, without line breaks.
std::string encode_base64(std::string_view bytes);

// Decodes base64 text laid out in lines of any length: CR, LF, spaces and tabs are skipped.
// Anything else outside the alphabet, padding before the end, a length that is not a multiple
// of 4 once whitespace is gone, or non-zero padding bits make it nullopt.
std::optional<std::string> decode_base64_lines(std::string_view text);

}  // namespace postern::shares
