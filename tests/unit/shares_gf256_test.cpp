// GF(2^8) as libgfshare defines it: the exp/log tables against the field's definition
// (polynomials over GF(2) modulo x^8 + x^4 + x^3 + x^2 + 1), and the field laws over all elements.
#include "shares/gf256.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace {

namespace gf256 = postern::shares::gf256;

// Carry-less multiplication reduced modulo 0x11D, bit by bit: the definition, without tables.
std::uint8_t multiply_by_definition(std::uint8_t a, std::uint8_t b) {
  unsigned product = 0;
  for (int bit = 0; bit < 8; ++bit) {
    if (b & (1u << bit)) product ^= static_cast<unsigned>(a) << bit;
  }
  for (int bit = 14; bit >= 8; --bit) {
    if (product & (1u << bit)) product ^= gf256::kFieldPolynomial << (bit - 8);
  }
  return static_cast<std::uint8_t>(product);
}

TEST(Gf256, ExpTableIsThePowersOfTwo) {
  std::uint8_t power = 1;
  for (unsigned i = 0; i < 255; ++i) {
    EXPECT_EQ(gf256::kTables.exp[i], power) << i;
    EXPECT_EQ(gf256::kTables.exp[i + 255], power) << i;
    power = multiply_by_definition(power, 2);
  }
  EXPECT_EQ(power, 1) << "2 has order 255: it generates the multiplicative group";
  // The first reduction: 2^8 = x^4 + x^3 + x^2 + 1 = 0x1D, as in libgfshare's table.
  EXPECT_EQ(gf256::kTables.exp[8], 0x1D);
  EXPECT_EQ(gf256::kTables.exp[254], 0x8E);
}

TEST(Gf256, LogInvertsExp) {
  std::array<bool, 256> seen{};
  for (unsigned i = 0; i < 255; ++i) {
    const std::uint8_t value = gf256::kTables.exp[i];
    EXPECT_FALSE(seen[value]) << "2^" << i << " repeats";
    seen[value] = true;
    EXPECT_EQ(gf256::kTables.log[value], i);
  }
  EXPECT_FALSE(seen[0]);
}

TEST(Gf256, MultiplicationMatchesTheDefinitionForAllPairs) {
  for (unsigned a = 0; a < 256; ++a) {
    for (unsigned b = 0; b < 256; ++b) {
      ASSERT_EQ(gf256::mul(static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b)),
                multiply_by_definition(static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b)))
          << a << " * " << b;
    }
  }
}

TEST(Gf256, AdditionIsXorAndEveryElementIsItsOwnNegative) {
  EXPECT_EQ(gf256::add(0x53, 0xCA), 0x99);
  for (unsigned a = 0; a < 256; ++a) EXPECT_EQ(gf256::add(static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(a)), 0);
}

TEST(Gf256, DivisionAndInverseUndoMultiplication) {
  for (unsigned a = 1; a < 256; ++a) {
    const auto x = static_cast<std::uint8_t>(a);
    EXPECT_EQ(gf256::mul(x, gf256::inv(x)), 1) << a;
    for (unsigned b = 0; b < 256; ++b) {
      const auto y = static_cast<std::uint8_t>(b);
      ASSERT_EQ(gf256::div(gf256::mul(y, x), x), y) << b << " / " << a;
    }
  }
  EXPECT_THROW(gf256::div(5, 0), std::domain_error);
  EXPECT_THROW(gf256::inv(0), std::domain_error);
}

TEST(Gf256, MultiplicationDistributesOverAddition) {
  for (unsigned a = 0; a < 256; a += 7) {
    for (unsigned b = 0; b < 256; ++b) {
      for (unsigned c = 0; c < 256; c += 5) {
        const auto x = static_cast<std::uint8_t>(a), y = static_cast<std::uint8_t>(b), z = static_cast<std::uint8_t>(c);
        ASSERT_EQ(gf256::mul(x, gf256::add(y, z)), gf256::add(gf256::mul(x, y), gf256::mul(x, z)));
      }
    }
  }
}

TEST(Gf256, MultiplicationTableHoldsTheProducts) {
  const auto times_0x57 = gf256::multiplication_table(0x57);
  for (unsigned v = 0; v < 256; ++v) EXPECT_EQ(times_0x57[v], gf256::mul(static_cast<std::uint8_t>(v), 0x57));
}

TEST(Gf256, EvaluateIsThePolynomialSum) {
  const std::vector<std::uint8_t> higher = {0x03, 0xA7, 0x10};
  for (unsigned xv = 0; xv < 256; ++xv) {
    const auto x = static_cast<std::uint8_t>(xv);
    const std::uint8_t x2 = gf256::mul(x, x);
    const std::uint8_t x3 = gf256::mul(x2, x);
    const std::uint8_t expected = 0x42 ^ gf256::mul(0x03, x) ^ gf256::mul(0xA7, x2) ^ gf256::mul(0x10, x3);
    EXPECT_EQ(gf256::evaluate(0x42, higher, x), expected) << xv;
  }
  EXPECT_EQ(gf256::evaluate(0x42, higher, 0), 0x42) << "f(0) is the secret";
  EXPECT_EQ(gf256::evaluate(0x42, {}, 9), 0x42) << "degree 0";
}

}  // namespace
