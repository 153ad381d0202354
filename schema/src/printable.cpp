#include "postern/schema/printable.hpp"

namespace postern::schema {
namespace {

// The code point of the UTF-8 sequence at s[i] and its length, strictly as RFC 3629 §4 defines
// it (no overlong forms, no surrogates, nothing past U+10FFFF); length 0 when there is none.
struct Utf8Char {
  char32_t cp = 0;
  std::size_t size = 0;
};

Utf8Char utf8_at(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {b0, 1};
  std::size_t n = 0;
  char32_t cp = 0;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    n = 2;
    cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    n = 3;
    cp = b0 & 0x0f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4;
    cp = b0 & 0x07;
  } else {
    return {};
  }
  if (s.size() - i < n) return {};
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) return {};
    cp = (cp << 6) | (b & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
      cp > 0x10ffff) {
    return {};
  }
  return {cp, n};
}

bool must_escape(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::size_t printable_length(std::string_view text, std::size_t i) {
  if (i >= text.size()) return 0;
  const Utf8Char ch = utf8_at(text, i);
  return ch.size == 0 || must_escape(ch.cp) ? 0 : ch.size;
}

void append_hex_escape(std::string& out, unsigned char byte) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  out.push_back(kHex[byte >> 4]);
  out.push_back(kHex[byte & 0x0f]);
}

std::string escape_unprintable(std::string_view text, std::string_view keep) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = printable_length(text, i);
    if (n > 0) {
      out.append(text.substr(i, n));
      i += n;
    } else if (keep.find(text[i]) != std::string_view::npos) {
      out.push_back(text[i++]);
    } else {
      append_hex_escape(out, static_cast<unsigned char>(text[i++]));
    }
  }
  return out;
}

}  // namespace postern::schema
