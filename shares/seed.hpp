// The 32-byte seed from which all the randomness of one share group is drawn (keystream.hpp).
// The relay stores one random seed per message beside it, so that every pass over the message,
// however often delivery is retried or the relay restarted, draws the same bytes and re-sends
// the same share; shares of two different draws would together reveal the message.
//
//   Seed message_seed = random_seed();                           // once, stored with the message
//   Seed group_seed = derive_seed(message_seed, "bob@proxy.example");  // one per mapped recipient
//
// Each mapped recipient of a message needs a seed of its own: two recipients sharing one draw
// would give the same random share bytes to whoever holds a share of each.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace postern::shares {

using Seed = std::array<std::uint8_t, 32>;

// 32 bytes from the operating system's random source (libsodium's randombytes_buf).
Seed random_seed();

// A seed of its own for `label` (a recipient address, say): keyed BLAKE2b-256 of the label with
// `parent` as the key. Distinct labels give independent seeds; the label is not secret.
Seed derive_seed(const Seed& parent, std::string_view label);

}  // namespace postern::shares
