#include "shares/privmail_combiner.hpp"

#include "shares/privmail_sixbit.hpp"
#include "shares/privmail_text.hpp"
#include "shares/share_combiner.hpp"

#include <vector>

namespace postern::shares {
namespace {

constexpr std::uint8_t kSixBitSpace = 32;
constexpr std::uint8_t kSixBitQuestionMark = 63;

std::string sizes_of(std::span<const PrivmailShare> shares, std::size_t (*size_of)(const PrivmailShare&)) {
  std::string out;
  for (const PrivmailShare& share : shares) out += (out.empty() ? "" : ", ") + std::to_string(size_of(share));
  return out;
}

std::string combine(std::span<const PrivmailShare> shares, const std::string PrivmailShare::*member) {
  std::vector<std::string_view> pieces;
  for (const PrivmailShare& share : shares) pieces.emplace_back(share.*member);
  return xor_combine(pieces);
}

// The words of `values` split at the values `is_separator` accepts.
template <typename IsSeparator, typename Map>
std::vector<std::string> words_of(std::string_view values, IsSeparator is_separator, Map map) {
  std::vector<std::string> words(1);
  for (const char c : values) {
    if (is_separator(c)) {
      if (!words.back().empty()) words.emplace_back();
    } else {
      words.back() += map(c);
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

}  // namespace

bool truncated_text_matches(std::string_view text, std::string_view truncated) {
  const auto text_words = words_of(
      text, [](char c) { return is_python_space(c) || c == '?'; }, [](char c) { return static_cast<char>(sixbit_encode(c)); });
  const auto truncated_words = words_of(
      truncated,
      [](char c) {
        const auto value = static_cast<std::uint8_t>(c);
        return value == kSixBitSpace || value == kSixBitQuestionMark;
      },
      [](char c) { return c; });
  return text_words == truncated_words;
}

PrivmailCombination combine_privmail_shares(std::span<const PrivmailShare> shares) {
  PrivmailCombination out;
  // An empty Subject and text give every share the same empty values: one stands for all.
  const auto holds_nothing = [](const PrivmailShare& share) {
    return share.subject.empty() && share.body.empty() && share.truncated.empty() && share.buckets.empty();
  };
  if (shares.size() == 1 && holds_nothing(shares.front())) return out;
  if (shares.size() < 2) {
    out.error = "incomplete: " + std::to_string(shares.size()) + " share(s); PrivMail's shares are n of n, n at least 2";
    return out;
  }
  const PrivmailShare& first = shares.front();
  const auto differ = [&](std::string what, std::size_t (*size_of)(const PrivmailShare&)) {
    for (const PrivmailShare& share : shares) {
      if (size_of(share) != size_of(first)) {
        out.error = "the shares' " + what + " differ in size (" + sizes_of(shares, size_of) +
                    "): a share is damaged or from another message";
        return true;
      }
    }
    return false;
  };
  if (differ("Subjects", [](const PrivmailShare& s) { return s.subject.size(); }) ||
      differ("bodies", [](const PrivmailShare& s) { return s.body.size(); }) ||
      differ("truncated blocks", [](const PrivmailShare& s) { return s.truncated.size(); }) ||
      differ("bucket blocks", [](const PrivmailShare& s) { return s.buckets.size(); })) {
    return out;
  }
  for (const PrivmailShare& share : shares) {
    for (std::size_t b = 0; b < first.buckets.size(); ++b) {
      if (share.buckets[b].size != first.buckets[b].size || share.buckets[b].entries.size() != first.buckets[b].entries.size()) {
        out.error = "the shares' bucket blocks differ: a share is damaged or from another message";
        return out;
      }
    }
  }
  std::string subject = combine(shares, &PrivmailShare::subject);
  std::string text = combine(shares, &PrivmailShare::body);
  std::string truncated = combine(shares, &PrivmailShare::truncated);
  if (!truncated_text_matches(text, truncated)) {
    out.error = "the combined body and its truncated copy disagree: a share is missing, damaged or from "
                "another message";
    return out;
  }
  out.subject = std::move(subject);
  out.text = std::move(text);
  return out;
}

}  // namespace postern::shares
