// PrivMail's sharing: XOR n-of-n over small values, with random values of only as many bits as
// the values have (7 for ASCII text, 6 for SixBit), so that every share is as narrow as the
// secret. Shares 1..n-1 are random values; share n is the secret XOR all of them; the XOR of
// all n shares, in any order, is the secret.
//
//   Keystream stream(derive_seed(group_seed, "privmail body"));
//   std::string share2 = privmail_xor_share(text, 7, /*index=*/2, /*count=*/3, stream);
//
// The randomness comes from the keystream like ShareSplitter's: value j draws bytes
// [first_draw + j * (n-1), first_draw + (j+1) * (n-1)), each cut to `bits` bits, whichever
// share is being made, so every share of one seed belongs to the same draw.
#pragma once

#include "shares/keystream.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace postern::shares {

// Throws std::invalid_argument for bits outside 1..8, count below 2 or above 255, an index
// outside 1..count, or a value with more than `bits` bits.
std::string privmail_xor_share(std::string_view values, unsigned bits, unsigned index, unsigned count,
                               const Keystream& keystream, std::uint64_t first_draw = 0);

}  // namespace postern::shares
