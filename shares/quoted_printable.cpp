#include "shares/quoted_printable.hpp"

namespace postern::shares {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string decode_quoted_printable(std::string_view encoded) {
  std::string out;
  out.reserve(encoded.size());
  std::size_t pos = 0;
  while (pos < encoded.size()) {
    const char c = encoded[pos++];
    if (c != '=') {
      out += c;
      continue;
    }
    if (pos >= encoded.size()) break;  // a lone "=" at the very end
    const char next = encoded[pos];
    if (next == '\r' || next == '\n') {
      // A soft line break: skip to past the next LF (a CR alone ends at the text's end).
      const std::size_t lf = encoded.find('\n', pos);
      pos = lf == std::string_view::npos ? encoded.size() : lf + 1;
    } else if (next == '=') {
      out += '=';
      ++pos;
    } else if (pos + 1 < encoded.size() && hex_digit(next) >= 0 && hex_digit(encoded[pos + 1]) >= 0) {
      out += static_cast<char>(hex_digit(next) << 4 | hex_digit(encoded[pos + 1]));
      pos += 2;
    } else {
      out += '=';
    }
  }
  return out;
}

}  // namespace postern::shares
