// Arithmetic in GF(2^8), the field Shamir sharing works in byte by byte. The field polynomial is
// x^8 + x^4 + x^3 + x^2 + 1 (0x11D) with generator 2, as in libgfshare, so that shares made here
// combine with Debian's gfcombine and gfsplit's shares combine here.
//
//   using namespace postern::shares;
//   std::uint8_t y = gf256::add(gf256::mul(a, x), b);   // a*x + b
//   std::uint8_t q = gf256::div(y, x);                  // x != 0
//
// Addition is XOR, so subtraction is the same operation. Multiplication and division go through
// the exp/log tables below (kExp[i] = 2^i, kLog[2^i] = i), built at compile time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>

namespace postern::shares::gf256 {

inline constexpr unsigned kFieldPolynomial = 0x11D;

struct Tables {
  // exp is doubled (510 entries) so that exp[log a + log b] needs no reduction modulo 255.
  std::array<std::uint8_t, 510> exp{};
  std::array<std::uint8_t, 256> log{};  // log[0] is unused: 0 has no logarithm
};

constexpr Tables make_tables() {
  Tables tables;
  unsigned value = 1;
  for (unsigned i = 0; i < 255; ++i) {
    tables.exp[i] = static_cast<std::uint8_t>(value);
    tables.exp[i + 255] = static_cast<std::uint8_t>(value);
    tables.log[value] = static_cast<std::uint8_t>(i);
    value <<= 1;
    if (value & 0x100) value ^= kFieldPolynomial;
  }
  return tables;
}

inline constexpr Tables kTables = make_tables();

constexpr std::uint8_t add(std::uint8_t a, std::uint8_t b) { return a ^ b; }

constexpr std::uint8_t mul(std::uint8_t a, std::uint8_t b) {
  if (a == 0 || b == 0) return 0;
  return kTables.exp[kTables.log[a] + kTables.log[b]];
}

// Throws std::domain_error for b == 0.
constexpr std::uint8_t div(std::uint8_t a, std::uint8_t b) {
  if (b == 0) throw std::domain_error("division by zero in GF(256)");
  if (a == 0) return 0;
  return kTables.exp[kTables.log[a] + 255 - kTables.log[b]];
}

// Throws std::domain_error for a == 0.
constexpr std::uint8_t inv(std::uint8_t a) { return div(1, a); }

// f(x) = constant + higher[0] x + higher[1] x^2 + ..., by Horner's rule: one Shamir share byte,
// with the secret byte as constant term and the random coefficients as `higher`.
constexpr std::uint8_t evaluate(std::uint8_t constant, std::span<const std::uint8_t> higher,
                                std::uint8_t x) {
  std::uint8_t y = 0;
  for (std::size_t m = higher.size(); m > 0; --m) y = add(mul(y, x), higher[m - 1]);
  return add(mul(y, x), constant);
}

// The 256 products value * factor for one fixed factor: hot loops multiply by a constant.
std::array<std::uint8_t, 256> multiplication_table(std::uint8_t factor);

}  // namespace postern::shares::gf256
