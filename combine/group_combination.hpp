// Combines one share group of the `postern` format into the original message, verified, or says
// why it cannot. Shares that disagree with the rest of the group (other k, n or scheme, another
// size, two different contents for one index) are left out and reported; the rest must still
// reach the threshold. With more Shamir shares than the threshold, other subsets are tried when
// one does not verify, and every spare share is checked against the restored polynomial, so a
// corrupted share is named even when the message could be restored without it.
//
//   GroupOutcome outcome = combine_group(id, shares.groups().at(id));
//   if (outcome.message) write(*outcome.message);
//   for (const std::string& problem : outcome.problems) report(problem);
//
// A message is only returned once its SHA-256 (secret_framing.hpp) matched.
#pragma once

#include "combine/share_collection.hpp"

#include <optional>
#include <string>
#include <vector>

namespace postern::combine {

struct GroupOutcome {
  std::optional<std::string> message;  // the verified original
  std::vector<std::string> problems;   // one line each: an incomplete group, a bad share
};

GroupOutcome combine_group(const std::vector<CollectedShare>& group);

}  // namespace postern::combine
