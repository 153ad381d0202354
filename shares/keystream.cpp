#include "shares/keystream.hpp"

#include "shares/sodium_ready.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace postern::shares {
namespace {

// The nonce randombytes_buf_deterministic() uses (libsodium's randombytes.c).
constexpr std::array<unsigned char, crypto_stream_chacha20_ietf_NONCEBYTES> kNonce = {
    'L', 'i', 'b', 's', 'o', 'd', 'i', 'u', 'm', 'D', 'R', 'G'};

static_assert(std::tuple_size_v<Seed> == crypto_stream_chacha20_ietf_KEYBYTES);

// Writes keystream blocks starting at `block` into `out` (XOR onto zeros gives the stream).
void write_blocks(const Seed& key, std::uint64_t block, std::span<std::uint8_t> out) {
  std::fill(out.begin(), out.end(), std::uint8_t{0});
  crypto_stream_chacha20_ietf_xor_ic(out.data(), out.data(), out.size(), kNonce.data(),
                                     static_cast<std::uint32_t>(block), key.data());
}

}  // namespace

Keystream::Keystream(const Seed& seed) : key_(seed) { ensure_sodium_ready(); }

void Keystream::read(std::uint64_t offset, std::span<std::uint8_t> out) const {
  if (offset > kLength || out.size() > kLength - offset) {
    throw std::out_of_range("read past the end of the share keystream (256 GiB)");
  }
  std::uint64_t block = offset / kBlockSize;
  const std::size_t skip = offset % kBlockSize;
  // A read that starts inside a block: make that block whole and copy its tail.
  if (skip != 0 && !out.empty()) {
    std::array<std::uint8_t, kBlockSize> first{};
    write_blocks(key_, block, first);
    const std::size_t take = std::min<std::size_t>(kBlockSize - skip, out.size());
    std::copy_n(first.begin() + static_cast<std::ptrdiff_t>(skip), take, out.begin());
    out = out.subspan(take);
    ++block;
  }
  if (!out.empty()) write_blocks(key_, block, out);
}

}  // namespace postern::shares
