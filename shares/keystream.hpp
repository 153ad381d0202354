// The random bytes of one share group, addressable by byte offset: the ChaCha20-IETF keystream
// with the group's seed as key, the nonce "LibsodiumDRG" and the block counter starting at 0.
// That is exactly what libsodium's randombytes_buf_deterministic(buf, size, seed) writes, so
// bytes 0..size-1 here equal its output; unlike it, any stretch can be read without producing
// what comes before, so shares are made while a message streams, in bounded memory, and a later
// pass reads the same bytes again.
//
//   Keystream stream(seed);
//   std::array<std::uint8_t, 100> bytes;
//   stream.read(4096, bytes);   // bytes 4096..4195 of the stream
//
// The stream is 2^32 blocks of 64 bytes (256 GiB); reading past that throws std::out_of_range.
#pragma once

#include "shares/seed.hpp"

#include <cstdint>
#include <span>

namespace postern::shares {

class Keystream {
 public:
  static constexpr std::uint64_t kBlockSize = 64;
  static constexpr std::uint64_t kLength = kBlockSize << 32;

  explicit Keystream(const Seed& seed);

  // Fills `out` with the stream's bytes [offset, offset + out.size()).
  void read(std::uint64_t offset, std::span<std::uint8_t> out) const;

 private:
  Seed key_;
};

}  // namespace postern::shares
