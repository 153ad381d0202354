#include "shares/encoded_words.hpp"

#include "shares/mail_header_section.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>

namespace postern::shares {
namespace {

struct EncodedWord {
  std::size_t end = 0;  // past its "?="
  std::string charset;
  char encoding = 'q';
  std::string_view text;
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// The encoded-word that starts at `pos` ("=?"), or nullopt when the text there is none.
std::optional<EncodedWord> encoded_word_at(std::string_view text, std::size_t pos) {
  if (text.substr(pos, 2) != "=?") return std::nullopt;
  const std::size_t charset_end = text.find('?', pos + 2);
  if (charset_end == std::string_view::npos || charset_end == pos + 2) return std::nullopt;
  if (charset_end + 2 >= text.size() || text[charset_end + 2] != '?') return std::nullopt;
  const char encoding = static_cast<char>(text[charset_end + 1] | 0x20);
  if (encoding != 'b' && encoding != 'q') return std::nullopt;
  const std::size_t text_start = charset_end + 3;
  const std::size_t close = text.find("?=", text_start);
  if (close == std::string_view::npos) return std::nullopt;
  const std::string_view encoded = text.substr(text_start, close - text_start);
  if (encoded.find_first_of(" \t\r\n?") != std::string_view::npos) return std::nullopt;
  std::string_view charset = text.substr(pos + 2, charset_end - pos - 2);
  if (charset.find_first_of(" \t\r\n") != std::string_view::npos) return std::nullopt;
  charset = charset.substr(0, charset.find('*'));  // RFC 2231 language
  return EncodedWord{close + 2, ascii_lower(charset), encoding, encoded};
}

std::optional<std::string> decode_word(const EncodedWord& word) {
  if (word.encoding == 'q') {  // "_" is a space, "=XX" a byte, anything else itself
    std::string out;
    for (std::size_t i = 0; i < word.text.size(); ++i) {
      const char c = word.text[i];
      if (c == '=' && i + 2 < word.text.size() && hex_digit(word.text[i + 1]) >= 0 && hex_digit(word.text[i + 2]) >= 0) {
        out += static_cast<char>(hex_digit(word.text[i + 1]) << 4 | hex_digit(word.text[i + 2]));
        i += 2;
      } else {
        out += c == '_' ? ' ' : c;
      }
    }
    return out;
  }
  // Base64, leniently as Python reads it: padding optional, leftover bits ignored.
  std::string out;
  std::uint32_t bits = 0;
  int bit_count = 0;
  for (const char c : word.text.substr(0, word.text.find('='))) {
    const int value = base64_value(c);
    if (value < 0) return std::nullopt;
    bits = (bits << 6 | static_cast<std::uint32_t>(value)) & 0xFFFFFF;
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out += static_cast<char>((bits >> bit_count) & 0xFF);
    }
  }
  if (word.text.find_first_not_of('=', std::min(word.text.find('='), word.text.size())) != std::string_view::npos) {
    return std::nullopt;  // text after the padding
  }
  return out;
}

}  // namespace

DecodedWords decode_encoded_words(std::string_view text) {
  DecodedWords out;
  std::size_t pos = 0;
  std::size_t literal_start = 0;   // of the text not yet copied
  bool after_word = false;         // the text since literal_start follows an encoded-word
  while (pos < text.size()) {
    const std::optional<EncodedWord> word = encoded_word_at(text, pos);
    if (!word) {
      ++pos;
      continue;
    }
    const std::string_view between = text.substr(literal_start, pos - literal_start);
    const bool only_blanks = std::all_of(between.begin(), between.end(), is_blank);
    if (!(after_word && only_blanks)) out.bytes.append(between);
    const std::optional<std::string> decoded = decode_word(*word);
    if (!decoded) {
      out.error = "an encoded-word's text is not valid base64";
      return out;
    }
    out.bytes += *decoded;
    out.charsets.push_back(word->charset);
    pos = literal_start = word->end;
    after_word = true;
  }
  out.bytes.append(text.substr(literal_start));
  return out;
}

}  // namespace postern::shares
