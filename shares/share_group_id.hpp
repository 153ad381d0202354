// The random 128-bit id that links the shares of one message to one mapped recipient, written as
// 32 lower-case hex digits. It is derived from the group's seed, so every pass over the message,
// after a restart too, labels its share with the same id, and it reveals nothing of the seed.
//
//   ShareGroupId id = derive_group_id(group_seed);
//   std::string text = id.hex();                            // "3f2a...", 32 characters
//   std::optional<ShareGroupId> back = parse_share_group_id(text);
#pragma once

#include "shares/seed.hpp"

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace postern::shares {

struct ShareGroupId {
  std::array<std::uint8_t, 16> bytes{};

  std::string hex() const;
  auto operator<=>(const ShareGroupId&) const = default;
};

// Keyed BLAKE2b-128 of a fixed label with the seed as key.
ShareGroupId derive_group_id(const Seed& group_seed);

// 32 hex digits, either case; anything else is nullopt.
std::optional<ShareGroupId> parse_share_group_id(std::string_view text);

}  // namespace postern::shares
