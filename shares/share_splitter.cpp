#include "shares/share_splitter.hpp"

#include "shares/gf256.hpp"

#include <algorithm>
#include <span>
#include <stdexcept>

namespace postern::shares {
namespace {

// Secret bytes per keystream read: bounds the draw buffer whatever the piece size.
constexpr std::size_t kBlockBytes = 4096;

}  // namespace

ShareSplitter::ShareSplitter(const SharingParams& params, unsigned index, const Seed& seed)
    : params_(params), index_(index), draws_per_byte_(draws_per_byte(params)), keystream_(seed) {
  if (const std::string problem = params_problem(params); !problem.empty()) {
    throw std::invalid_argument(problem);
  }
  if (index < 1 || index > params.count) {
    throw std::invalid_argument("share index " + std::to_string(index) + " is outside 1.." +
                                std::to_string(params.count));
  }
}

std::string ShareSplitter::split(std::string_view secret_piece) {
  std::string out;
  out.reserve(secret_piece.size());
  while (!secret_piece.empty()) {
    const std::size_t take = std::min(secret_piece.size(), kBlockBytes);
    split_block(secret_piece.substr(0, take), out);
    secret_piece.remove_prefix(take);
  }
  return out;
}

void ShareSplitter::split_block(std::string_view secret, std::string& out) {
  const std::size_t r = draws_per_byte_;
  draws_.resize(secret.size() * r);
  keystream_.read(offset_ * r, draws_);
  offset_ += secret.size();

  for (std::size_t j = 0; j < secret.size(); ++j) {
    const auto s = static_cast<std::uint8_t>(secret[j]);
    const std::span<const std::uint8_t> draw(draws_.data() + j * r, r);
    std::uint8_t y = 0;
    if (params_.scheme == Scheme::Shamir) {
      // The coefficients a1..a(k-1) of this byte's polynomial are its draws.
      y = gf256::evaluate(s, draw, static_cast<std::uint8_t>(index_));
    } else if (index_ < params_.count) {
      y = draw[index_ - 1];  // XOR share i < n is the i-th random byte itself
    } else {
      y = s;
      for (const std::uint8_t random : draw) y ^= random;
    }
    out.push_back(static_cast<char>(y));
  }
}

}  // namespace postern::shares
