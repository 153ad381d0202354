// One UTF-8 decoding step, shared by the address syntax (address.cpp) and the escaping of
// untrusted text for logs and output (printable.cpp). Internal to the schema library.
#pragma once

#include <cstddef>
#include <string_view>

namespace postern::schema {

struct Utf8Char {
  char32_t cp = 0;
  std::size_t size = 0;  // 0: not a UTF-8 sequence
};

// The UTF-8 sequence starting at s[i], strictly as RFC 3629 §4 defines it: no overlong forms,
// no UTF-16 surrogates, nothing past U+10FFFF.
inline Utf8Char utf8_at(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  char32_t cp = 0;
  if (b0 < 0x80) return {b0, 1};
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

}  // namespace postern::schema
