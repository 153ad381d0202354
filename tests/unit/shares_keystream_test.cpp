// The share keystream is libsodium's randombytes_buf_deterministic() output, readable from any
// offset; seeds and group ids derived from a message seed are stable and distinct.
#include "shares/keystream.hpp"
#include "shares/seed.hpp"
#include "shares/share_group_id.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstdint>
#include <vector>

namespace {

using namespace postern::shares;

Seed test_seed(std::uint8_t first) {
  Seed seed{};
  for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<std::uint8_t>(first + i);
  return seed;
}

std::vector<std::uint8_t> read(const Keystream& stream, std::uint64_t offset, std::size_t size) {
  std::vector<std::uint8_t> out(size);
  stream.read(offset, out);
  return out;
}

TEST(SharesKeystream, StartsWithRandombytesBufDeterministic) {
  ASSERT_GE(sodium_init(), 0);
  const Seed seed = test_seed(7);
  std::vector<std::uint8_t> expected(10000);
  randombytes_buf_deterministic(expected.data(), expected.size(), seed.data());
  EXPECT_EQ(read(Keystream(seed), 0, expected.size()), expected);
}

TEST(SharesKeystream, AnyStretchEqualsTheSameStretchOfTheWhole) {
  const Seed seed = test_seed(1);
  const Keystream stream(seed);
  const std::vector<std::uint8_t> whole = read(stream, 0, 1000);
  for (const std::uint64_t offset : {0u, 1u, 63u, 64u, 65u, 127u, 500u}) {
    for (const std::size_t size : {0u, 1u, 2u, 63u, 64u, 65u, 129u}) {
      if (offset + size > whole.size()) continue;
      const std::vector<std::uint8_t> expected(whole.begin() + static_cast<std::ptrdiff_t>(offset),
                                               whole.begin() + static_cast<std::ptrdiff_t>(offset + size));
      EXPECT_EQ(read(stream, offset, size), expected) << offset << "+" << size;
    }
  }
}

TEST(SharesKeystream, ReadsUpToTheEndOfTheStreamAndNoFurther) {
  const Keystream stream(test_seed(2));
  EXPECT_EQ(read(stream, Keystream::kLength - 100, 100).size(), 100u);
  EXPECT_THROW(read(stream, Keystream::kLength - 100, 101), std::out_of_range);
  EXPECT_THROW(read(stream, Keystream::kLength + 1, 0), std::out_of_range);
}

TEST(SharesKeystream, DifferentSeedsGiveDifferentStreams) {
  EXPECT_NE(read(Keystream(test_seed(1)), 0, 64), read(Keystream(test_seed(2)), 0, 64));
}

TEST(SharesSeed, DerivedSeedsAreStableAndDistinctPerLabel) {
  const Seed message = test_seed(9);
  EXPECT_EQ(derive_seed(message, "bob@proxy.example"), derive_seed(message, "bob@proxy.example"));
  EXPECT_NE(derive_seed(message, "bob@proxy.example"), derive_seed(message, "carol@proxy.example"));
  EXPECT_NE(derive_seed(message, "bob@proxy.example"), derive_seed(test_seed(10), "bob@proxy.example"));
  EXPECT_NE(derive_seed(message, ""), message);
  EXPECT_NE(random_seed(), random_seed());
}

TEST(SharesGroupId, DerivedFromTheSeedAndWrittenAsHex) {
  const ShareGroupId id = derive_group_id(test_seed(3));
  EXPECT_EQ(id, derive_group_id(test_seed(3)));
  EXPECT_NE(id, derive_group_id(test_seed(4)));
  const std::string hex = id.hex();
  EXPECT_EQ(hex.size(), 32u);
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(parse_share_group_id(hex), id);
}

TEST(SharesGroupId, ParsesOnly32HexDigits) {
  EXPECT_EQ(parse_share_group_id("000102030405060708090A0B0C0D0E0F")->hex(), "000102030405060708090a0b0c0d0e0f");
  EXPECT_FALSE(parse_share_group_id(""));
  EXPECT_FALSE(parse_share_group_id("000102030405060708090a0b0c0d0e0"));
  EXPECT_FALSE(parse_share_group_id("000102030405060708090a0b0c0d0e0f0"));
  EXPECT_FALSE(parse_share_group_id("000102030405060708090a0b0c0d0e0g"));
  EXPECT_FALSE(parse_share_group_id(" 00102030405060708090a0b0c0d0e0f"));
}

}  // namespace
