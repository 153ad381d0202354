#include "server/filters/display_name.hpp"

#include <cstddef>
#include <string>
#include <utility>

#include "postern/schema/address.hpp"
#include "server/filters/encoded_words.hpp"

namespace postern::filters {
namespace {

// Characters between the words of a display name: whitespace, quotes, brackets, list punctuation.
bool is_separator(char c) {
  static constexpr std::string_view kSeparators = " \t\r\n\"'(),;<>";
  return kSeparators.find(c) != std::string_view::npos;
}

bool is_owned_address(std::string_view word, const schema::UserGrants& grants,
                      const schema::SenderPolicy& policy) {
  if (word.find('@') == std::string_view::npos) return false;
  const auto address = schema::parse_address(word);
  return address && schema::may_send_as(grants, *address, policy).allowed;
}

// The text without the addresses the user may send as (and "<" ">" right around one).
std::string without_owned_addresses(std::string_view text, const schema::UserGrants& grants,
                                    const schema::SenderPolicy& policy) {
  std::string rest;
  std::size_t i = 0;
  while (i < text.size()) {
    if (is_separator(text[i])) {
      rest.push_back(text[i++]);
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && !is_separator(text[end])) ++end;
    const std::string_view word = text.substr(i, end - i);
    if (!is_owned_address(word, grants, policy)) {
      rest.append(word);
    } else if (!rest.empty() && rest.back() == '<' && end < text.size() && text[end] == '>') {
      rest.pop_back();
      ++end;
    }
    i = end;
  }
  return rest;
}

// The code point at text[i] and its length, leniently: a byte that does not start a UTF-8
// sequence is taken alone (and matches nothing below).
std::pair<char32_t, std::size_t> code_point_at(std::string_view text, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  const std::size_t n = b0 < 0x80            ? 1
                        : (b0 & 0xe0) == 0xc0 ? 2
                        : (b0 & 0xf0) == 0xe0 ? 3
                        : (b0 & 0xf8) == 0xf0 ? 4
                                              : 0;
  if (n == 0 || text.size() - i < n) return {0xfffd, 1};
  char32_t cp = n == 1 ? b0 : b0 & (0x7f >> n);
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xc0) != 0x80) return {0xfffd, 1};
    cp = (cp << 6) | (b & 0x3f);
  }
  return {cp, n};
}

// "@" and its full-width and small forms.
bool is_at_sign(char32_t c) { return c == U'@' || c == 0xff20 || c == 0xfe6b; }

// "." and what a reader shows much like it: one dot leader, small, full-width, ideographic and
// half-width ideographic full stops (the last two are label separators in IDNA too).
bool is_full_stop(char32_t c) {
  return c == U'.' || c == 0x2024 || c == 0xfe52 || c == 0xff0e || c == 0x3002 || c == 0xff61;
}

bool is_angle_bracket(char32_t c) {
  return c == U'<' || c == U'>' || c == 0xff1c || c == 0xff1e || c == 0xfe64 || c == 0xfe65;
}

// Marks and embeddings, overrides and isolates of the Unicode bidirectional algorithm.
bool is_bidi_control(char32_t c) {
  return c == 0x200e || c == 0x200f || c == 0x061c || (c >= 0x202a && c <= 0x202e) ||
         (c >= 0x2066 && c <= 0x2069);
}

bool shows_address_like(std::string_view text) {
  bool at_sign = false;
  bool bidi = false;
  for (std::size_t i = 0; i < text.size();) {
    const auto [c, size] = code_point_at(text, i);
    i += size;
    if (is_angle_bracket(c) || (at_sign && is_full_stop(c))) return true;
    at_sign = at_sign || is_at_sign(c);
    bidi = bidi || is_bidi_control(c);
  }
  return at_sign && bidi;
}

}  // namespace

bool display_name_looks_like_address(std::string_view text, const schema::UserGrants& grants,
                                     const schema::SenderPolicy& policy) {
  return shows_address_like(without_owned_addresses(decode_encoded_words(text), grants, policy));
}

}  // namespace postern::filters
