#include "postern/schema/printable.hpp"

#include "utf8.hpp"

namespace postern::schema {
namespace {

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
