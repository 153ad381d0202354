// The text transformations of the `privmail` format, exactly as PrivMail makes them with Python's
// str methods, for 7-bit ASCII text (the only text the format carries):
//
//   collapse_whitespace("  two\r\n words ")       -> "two words"   (' '.join(text.split()))
//   privmail_search_words("Hi. Hi, you!")          -> {"hi", "you!"}
//   bucket_word("you!")                             -> "you!*"       (padded to 5, 10, 15 or 20)
//
// Python's split() without arguments splits at runs of its white space: for ASCII, space, HT,
// LF, VT, FF, CR and the separators 0x1C-0x1F.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::shares {

inline constexpr std::array<std::size_t, 4> kBucketSizes = {5, 10, 15, 20};
inline constexpr char kBucketPadding = '*';

constexpr bool is_python_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}

// The words of `text` joined by single spaces, white space at either end gone.
std::string collapse_whitespace(std::string_view text);

// The words PrivMail puts into buckets: the collapsed text in lower case, with ". ", ", ", ": ",
// "; ", "? " and "! " replaced by a space (in that order, each everywhere), collapsed again,
// and split into words; each distinct word once, in the order of its first occurrence.
std::vector<std::string> privmail_search_words(std::string_view text);

// The word padded with '*' to the first bucket size that holds it; nullopt when it is longer
// than 20 characters (PrivMail drops such words).
std::optional<std::string> bucket_word(std::string_view word);

}  // namespace postern::shares
