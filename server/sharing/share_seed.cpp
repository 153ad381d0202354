// See share_seed.hpp.
#include "server/sharing/share_seed.hpp"

#include <algorithm>
#include <stdexcept>

namespace postern::sharing {

std::string new_message_seed() {
  const shares::Seed seed = shares::random_seed();
  return std::string(seed.begin(), seed.end());
}

schema::SharedRecipient plan_shares(int position, const schema::ShareMap& map) {
  schema::SharedRecipient planned;
  planned.position = position;
  const int count = static_cast<int>(map.destinations.size());
  planned.scheme = map.threshold ? "shamir" : "xor";
  planned.threshold = map.threshold.value_or(count);
  planned.format = std::string(schema::share_format_name(map.format));
  for (const auto& destination : map.destinations) {
    const auto from = map.envelope_from.find(destination.upstream);
    planned.targets.push_back({destination.mailbox, destination.upstream,
                               from == map.envelope_from.end() ? std::string() : from->second});
  }
  return planned;
}

shares::Seed recipient_seed(const std::string& message_seed, const std::string& recipient) {
  shares::Seed parent;
  if (message_seed.size() != parent.size()) throw std::invalid_argument("the message's share seed is not 32 bytes");
  std::copy(message_seed.begin(), message_seed.end(), parent.begin());
  return shares::derive_seed(parent, recipient);
}

shares::SharingParams sharing_params(const schema::RecipientShares& shares) {
  return {shares.scheme == "shamir" ? shares::Scheme::Shamir : shares::Scheme::Xor,
          static_cast<unsigned>(shares.threshold), static_cast<unsigned>(shares.count)};
}

}  // namespace postern::sharing
