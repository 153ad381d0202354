#include "shares/share_combiner.hpp"

#include "shares/gf256.hpp"

#include <algorithm>
#include <stdexcept>

namespace postern::shares {
namespace {

void require_equal_sizes(std::span<const std::string_view> pieces) {
  for (const std::string_view piece : pieces) {
    if (piece.size() != pieces.front().size()) {
      throw std::invalid_argument("share pieces of different sizes cannot be combined");
    }
  }
}

}  // namespace

std::string xor_combine(std::span<const std::string_view> pieces) {
  if (pieces.empty()) throw std::invalid_argument("no shares to combine");
  require_equal_sizes(pieces);
  std::string out(pieces.front());
  for (const std::string_view piece : pieces.subspan(1)) {
    for (std::size_t j = 0; j < out.size(); ++j) out[j] ^= piece[j];
  }
  return out;
}

LagrangeInterpolator::LagrangeInterpolator(std::vector<std::uint8_t> xs, std::uint8_t at) {
  if (xs.empty()) throw std::invalid_argument("no shares to interpolate");
  for (std::size_t m = 0; m < xs.size(); ++m) {
    if (xs[m] == 0) throw std::invalid_argument("x-coordinate 0 is the secret, not a share");
    if (std::count(xs.begin(), xs.end(), xs[m]) > 1) {
      throw std::invalid_argument("x-coordinate " + std::to_string(xs[m]) + " given twice");
    }
  }
  // Lagrange basis polynomial m at `at`: the product over l != m of (at - x_l) / (x_m - x_l);
  // subtraction is XOR in GF(2^8).
  for (std::size_t m = 0; m < xs.size(); ++m) {
    std::uint8_t weight = 1;
    for (std::size_t l = 0; l < xs.size(); ++l) {
      if (l == m) continue;
      weight = gf256::mul(weight, gf256::div(gf256::add(at, xs[l]), gf256::add(xs[m], xs[l])));
    }
    weighted_.push_back(gf256::multiplication_table(weight));
  }
}

std::string LagrangeInterpolator::interpolate(std::span<const std::string_view> ys) const {
  if (ys.size() != weighted_.size()) {
    throw std::invalid_argument("interpolation needs " + std::to_string(weighted_.size()) +
                                " shares, got " + std::to_string(ys.size()));
  }
  require_equal_sizes(ys);
  std::string out(ys.front().size(), '\0');
  for (std::size_t m = 0; m < ys.size(); ++m) {
    const auto& times_weight = weighted_[m];
    for (std::size_t j = 0; j < out.size(); ++j) {
      out[j] = static_cast<char>(static_cast<std::uint8_t>(out[j]) ^
                                 times_weight[static_cast<std::uint8_t>(ys[m][j])]);
    }
  }
  return out;
}

}  // namespace postern::shares
