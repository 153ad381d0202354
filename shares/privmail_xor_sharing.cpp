#include "shares/privmail_xor_sharing.hpp"

#include "shares/sharing_params.hpp"

#include <stdexcept>
#include <vector>

namespace postern::shares {
namespace {

// Values per keystream read: bounds the draw buffer whatever the text's size.
constexpr std::size_t kBlockValues = 4096;

}  // namespace

std::string privmail_xor_share(std::string_view values, unsigned bits, unsigned index, unsigned count,
                               const Keystream& keystream, std::uint64_t first_draw) {
  if (bits < 1 || bits > 8) throw std::invalid_argument("privmail sharing: values of " + std::to_string(bits) + " bits");
  if (count < 2 || count > kMaxShareCount) {
    throw std::invalid_argument("privmail sharing: share count " + std::to_string(count) + " is outside 2..255");
  }
  if (index < 1 || index > count) {
    throw std::invalid_argument("privmail sharing: share index " + std::to_string(index) + " is outside 1.." +
                                std::to_string(count));
  }
  const auto mask = static_cast<std::uint8_t>((1u << bits) - 1);
  const std::size_t draws_per_value = count - 1;
  std::string out;
  out.reserve(values.size());
  std::vector<std::uint8_t> draws;
  for (std::size_t start = 0; start < values.size(); start += kBlockValues) {
    const std::string_view block = values.substr(start, kBlockValues);
    draws.resize(block.size() * draws_per_value);
    keystream.read(first_draw + start * draws_per_value, draws);
    for (std::size_t j = 0; j < block.size(); ++j) {
      const auto value = static_cast<std::uint8_t>(block[j]);
      if ((value & ~mask) != 0) {
        throw std::invalid_argument("privmail sharing: value " + std::to_string(value) + " has more than " +
                                    std::to_string(bits) + " bits");
      }
      const std::uint8_t* draw = draws.data() + j * draws_per_value;
      std::uint8_t y = 0;
      if (index < count) {
        y = draw[index - 1] & mask;
      } else {
        y = value;
        for (std::size_t r = 0; r < draws_per_value; ++r) y ^= draw[r] & mask;
      }
      out.push_back(static_cast<char>(y));
    }
  }
  return out;
}

}  // namespace postern::shares
