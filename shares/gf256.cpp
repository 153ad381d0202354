#include "shares/gf256.hpp"

namespace postern::shares::gf256 {

std::array<std::uint8_t, 256> multiplication_table(std::uint8_t factor) {
  std::array<std::uint8_t, 256> table{};
  for (unsigned value = 0; value < 256; ++value) {
    table[value] = mul(static_cast<std::uint8_t>(value), factor);
  }
  return table;
}

}  // namespace postern::shares::gf256
