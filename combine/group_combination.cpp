#include "combine/group_combination.hpp"

#include "shares/secret_framing.hpp"
#include "shares/share_combiner.hpp"

#include <algorithm>
#include <map>
#include <string_view>
#include <tuple>

namespace postern::combine {
namespace {

using shares::Scheme;
using shares::SharingParams;

// Enough to try every subset of small groups, yet bounded for absurd ones.
constexpr std::size_t kMaxCombinationAttempts = 1000;

std::string describe(const SharingParams& params) {
  return std::string(shares::scheme_name(params.scheme)) + " k=" + std::to_string(params.threshold) +
         " n=" + std::to_string(params.count);
}

std::string share_label(const CollectedShare& share) {
  return "share " + std::to_string(share.metadata.index) + " (" + share.origin + ")";
}

// The value most shares carry; ties go to the smallest.
template <typename Key, typename KeyOf>
Key majority(const std::vector<const CollectedShare*>& shares, KeyOf key_of) {
  std::map<Key, std::size_t> votes;
  for (const CollectedShare* share : shares) ++votes[key_of(*share)];
  return std::max_element(votes.begin(), votes.end(),
                          [](const auto& a, const auto& b) { return a.second < b.second; })->first;
}

struct Verified {
  std::string message;
  std::string error;  // empty when verified
};

Verified unframe(const std::string& secret) {
  shares::SecretUnframer unframer;
  std::string message = unframer.take(secret);
  shares::UnframeResult end = unframer.finish();
  if (!end.error.empty()) return Verified{{}, std::move(end.error)};
  message += end.tail;
  return Verified{std::move(message), {}};
}

std::vector<std::string_view> bytes_of(const std::vector<const CollectedShare*>& shares) {
  std::vector<std::string_view> out;
  for (const CollectedShare* share : shares) out.emplace_back(share->bytes);
  return out;
}

std::vector<std::uint8_t> xs_of(const std::vector<const CollectedShare*>& shares) {
  std::vector<std::uint8_t> out;
  for (const CollectedShare* share : shares) out.push_back(static_cast<std::uint8_t>(share->metadata.index));
  return out;
}

// Next k-subset of 0..n-1 in lexicographic order; false after the last.
bool next_subset(std::vector<std::size_t>& subset, std::size_t n) {
  const std::size_t k = subset.size();
  for (std::size_t i = k; i > 0; --i) {
    if (subset[i - 1] < n - k + i - 1) {
      ++subset[i - 1];
      for (std::size_t j = i; j < k; ++j) subset[j] = subset[j - 1] + 1;
      return true;
    }
  }
  return false;
}

void combine_xor(const std::vector<const CollectedShare*>& usable, GroupOutcome& outcome) {
  const std::vector<std::string_view> pieces = bytes_of(usable);
  Verified verified = unframe(shares::xor_combine(pieces));
  if (!verified.error.empty()) {
    outcome.problems.push_back("the shares do not combine: " + verified.error);
    return;
  }
  outcome.message = std::move(verified.message);
}

void combine_shamir(const std::vector<const CollectedShare*>& usable, unsigned threshold,
                    GroupOutcome& outcome) {
  std::vector<std::size_t> subset(threshold);
  for (std::size_t i = 0; i < subset.size(); ++i) subset[i] = i;
  std::string first_error;
  std::size_t attempts = 0;
  do {
    std::vector<const CollectedShare*> chosen;
    for (const std::size_t i : subset) chosen.push_back(usable[i]);
    const std::vector<std::string_view> pieces = bytes_of(chosen);
    Verified verified = unframe(shares::LagrangeInterpolator(xs_of(chosen)).interpolate(pieces));
    if (verified.error.empty()) {
      outcome.message = std::move(verified.message);
      // Each spare share must lie on the polynomial the chosen ones define.
      for (const CollectedShare* spare : usable) {
        if (std::find(chosen.begin(), chosen.end(), spare) != chosen.end()) continue;
        const shares::LagrangeInterpolator at_spare(xs_of(chosen), static_cast<std::uint8_t>(spare->metadata.index));
        if (at_spare.interpolate(pieces) != spare->bytes) {
          outcome.problems.push_back(share_label(*spare) +
                                     " does not fit the others: it is corrupted or from another draw");
        }
      }
      return;
    }
    if (first_error.empty()) first_error = verified.error;
  } while (++attempts < kMaxCombinationAttempts && next_subset(subset, usable.size()));
  std::string problem = "no " + std::to_string(threshold) + " of the " + std::to_string(usable.size()) +
                        " shares combine into a verified message: " + first_error;
  if (attempts == kMaxCombinationAttempts) problem += " (gave up after " + std::to_string(attempts) + " combinations)";
  outcome.problems.push_back(problem);
}

}  // namespace

GroupOutcome combine_group(const std::vector<CollectedShare>& group) {
  GroupOutcome outcome;
  std::vector<const CollectedShare*> candidates;
  for (const CollectedShare& share : group) candidates.push_back(&share);
  if (candidates.empty()) return outcome;

  // The group's parameters are those most of its shares carry.
  using ParamsKey = std::tuple<int, unsigned, unsigned>;
  const auto params_key = [](const CollectedShare& share) {
    const SharingParams& params = share.metadata.params;
    return ParamsKey{static_cast<int>(params.scheme), params.threshold, params.count};
  };
  const ParamsKey chosen_key = majority<ParamsKey>(candidates, params_key);
  const SharingParams params{static_cast<Scheme>(std::get<0>(chosen_key)), std::get<1>(chosen_key),
                             std::get<2>(chosen_key)};
  std::erase_if(candidates, [&](const CollectedShare* share) {
    if (params_key(*share) == chosen_key) return false;
    outcome.problems.push_back(share_label(*share) + " says " + describe(share->metadata.params) +
                               " but the group's other shares say " + describe(params) + ": left out");
    return true;
  });

  // One content per index: two different ones cannot both be right, and which is cannot be told
  // before combining, so neither is used.
  std::map<unsigned, std::vector<const CollectedShare*>> by_index;
  for (const CollectedShare* share : candidates) by_index[share->metadata.index].push_back(share);
  std::vector<const CollectedShare*> usable;
  for (const auto& [index, copies] : by_index) {
    if (copies.size() == 1) {
      usable.push_back(copies.front());
      continue;
    }
    std::string origins;
    for (const CollectedShare* copy : copies) origins += (origins.empty() ? "" : ", ") + copy->origin;
    outcome.problems.push_back("share " + std::to_string(index) + " appears " + std::to_string(copies.size()) +
                               " times with different content (" + origins + "): left out");
  }

  // All shares of a group are as long as its secret.
  if (!usable.empty()) {
    const std::size_t size = majority<std::size_t>(usable, [](const CollectedShare& share) { return share.bytes.size(); });
    std::erase_if(usable, [&](const CollectedShare* share) {
      if (share->bytes.size() == size) return false;
      outcome.problems.push_back(share_label(*share) + " has " + std::to_string(share->bytes.size()) +
                                 " bytes, the group's other shares " + std::to_string(size) + ": left out");
      return true;
    });
  }

  if (usable.size() < params.threshold) {
    std::string have;
    for (const CollectedShare* share : usable) have += (have.empty() ? "" : ", ") + std::to_string(share->metadata.index);
    const std::string needed = params.scheme == Scheme::Xor ? "all " + std::to_string(params.count)
                                                            : std::to_string(params.threshold);
    outcome.problems.push_back("incomplete: " + std::to_string(usable.size()) + " usable share(s) of " +
                               std::to_string(params.count) + (have.empty() ? "" : " (" + have + ")") +
                               ", " + needed + " needed (" + describe(params) + ")");
    return outcome;
  }
  if (params.scheme == Scheme::Xor) {
    combine_xor(usable, outcome);
  } else {
    combine_shamir(usable, params.threshold, outcome);
  }
  return outcome;
}

}  // namespace postern::combine
