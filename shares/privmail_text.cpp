#include "shares/privmail_text.hpp"

#include "shares/mail_header_section.hpp"

#include <unordered_set>

namespace postern::shares {
namespace {

// Python's str.replace: every non-overlapping occurrence, left to right.
std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  for (std::size_t found = text.find(from); found != std::string_view::npos; found = text.find(from, pos)) {
    out.append(text.substr(pos, found - pos));
    out.append(to);
    pos = found + from.size();
  }
  out.append(text.substr(pos));
  return out;
}

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && is_python_space(text[pos])) ++pos;
    const std::size_t start = pos;
    while (pos < text.size() && !is_python_space(text[pos])) ++pos;
    if (pos > start) words.push_back(text.substr(start, pos - start));
  }
  return words;
}

}  // namespace

std::string collapse_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const std::string_view word : split_words(text)) {
    if (!out.empty()) out += ' ';
    out.append(word);
  }
  return out;
}

std::vector<std::string> privmail_search_words(std::string_view text) {
  std::string prepared = ascii_lower(collapse_whitespace(text));
  for (const std::string_view ending : {". ", ", ", ": ", "; ", "? ", "! "}) {
    prepared = replace_all(prepared, ending, " ");
  }
  std::vector<std::string> words;
  std::unordered_set<std::string_view> seen;
  for (const std::string_view word : split_words(prepared)) {
    if (seen.insert(word).second) words.emplace_back(word);
  }
  return words;
}

std::optional<std::string> bucket_word(std::string_view word) {
  for (const std::size_t size : kBucketSizes) {
    if (word.size() <= size) {
      std::string padded(word);
      padded.resize(size, kBucketPadding);
      return padded;
    }
  }
  return std::nullopt;
}

}  // namespace postern::shares
