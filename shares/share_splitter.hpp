// Makes one share of a secret while the secret streams past, piece by piece, in bounded memory.
// Every share of a group is made in its own pass with the group's seed; the passes agree because
// each draws its randomness from the same keystream positions (sharing_params.hpp
// draws_per_byte), so share 2 made alone, after a restart, equals share 2 made beside the others.
//
//   ShareSplitter splitter({Scheme::Shamir, 2, 3}, /*index=*/2, seed);
//   for (std::string_view piece : secret_pieces) send(splitter.split(piece));
//
// split() returns exactly as many bytes as it is given; piece boundaries do not matter.
#pragma once

#include "shares/keystream.hpp"
#include "shares/sharing_params.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace postern::shares {

class ShareSplitter {
 public:
  // `index` is 1..n. Throws std::invalid_argument for unusable parameters or index.
  ShareSplitter(const SharingParams& params, unsigned index, const Seed& seed);

  // Share `index`'s bytes for the next piece of the secret.
  std::string split(std::string_view secret_piece);

  std::uint64_t secret_offset() const { return offset_; }  // secret bytes split so far

 private:
  void split_block(std::string_view secret, std::string& out);

  SharingParams params_;
  unsigned index_;
  unsigned draws_per_byte_;
  Keystream keystream_;
  std::uint64_t offset_ = 0;
  std::vector<std::uint8_t> draws_;  // reused keystream buffer
};

}  // namespace postern::shares
