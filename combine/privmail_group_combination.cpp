#include "combine/privmail_group_combination.hpp"

#include "combine/privmail_restored_message.hpp"
#include "shares/base64_lines.hpp"
#include "shares/privmail_combiner.hpp"

namespace postern::combine {

GroupOutcome combine_privmail_group(const std::vector<CollectedPrivmailShare>& group) {
  GroupOutcome outcome;
  if (group.empty()) return outcome;
  std::vector<shares::PrivmailShare> group_shares;
  std::string origins;
  for (const CollectedPrivmailShare& collected : group) {
    group_shares.push_back(collected.share);
    origins += (origins.empty() ? "" : ", ") + collected.origin;
  }
  const shares::PrivmailCombination combined = shares::combine_privmail_shares(group_shares);
  if (!combined.error.empty()) {
    outcome.problems.push_back(combined.error + " (" + std::to_string(group.size()) + " share(s): " + origins + ")");
    return outcome;
  }
  RestoredMessage restored = restored_privmail_message(group.front().share, combined.subject, combined.text);
  if (!restored.problem.empty()) {
    outcome.problems.push_back(restored.problem + " (" + origins + ")");
    return outcome;
  }
  outcome.message = std::move(restored.message);
  return outcome;
}

std::string privmail_output_name(std::string_view uid) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  const std::optional<std::string> bytes = shares::decode_base64_lines(uid);
  std::string name = "privmail-";
  for (const char byte : bytes.value_or(std::string())) {
    name += kDigits[static_cast<unsigned char>(byte) >> 4];
    name += kDigits[static_cast<unsigned char>(byte) & 0xF];
  }
  return name;
}

}  // namespace postern::combine
