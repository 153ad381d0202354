// Puts shares back together, piece by piece: pieces at the same offset of each share give the
// secret's bytes at that offset.
//
//   std::string secret = xor_combine(std::vector<std::string_view>{share1, share2, share3});
//
//   LagrangeInterpolator at_zero({1, 3});                 // Shamir: shares 1 and 3 of a 2-of-n
//   std::string secret = at_zero.interpolate(std::vector<std::string_view>{share1, share3});
//
// Interpolating at 0 gives the secret from any k shares of a k-of-n Shamir group; interpolating
// at another share's x-coordinate gives what that share must be, which tells a corrupted spare
// share from a good one. Any distinct non-zero x-coordinates work, so gfsplit's shares (whose
// file names carry their x-coordinate) combine as well.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace postern::shares {

// The XOR of all pieces. Throws std::invalid_argument when none is given or their sizes differ.
std::string xor_combine(std::span<const std::string_view> pieces);

class LagrangeInterpolator {
 public:
  // Throws std::invalid_argument for fewer than one x-coordinate, a zero or a repeated one.
  explicit LagrangeInterpolator(std::vector<std::uint8_t> xs, std::uint8_t at = 0);

  // ys[m] holds bytes of the share at xs[m]; all equally long. Throws std::invalid_argument
  // when the count or sizes do not fit.
  std::string interpolate(std::span<const std::string_view> ys) const;

 private:
  // weight m's products with every byte value: the sum over m of weight_m * y_m is f(at).
  std::vector<std::array<std::uint8_t, 256>> weighted_;
};

}  // namespace postern::shares
