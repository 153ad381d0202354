#include "shares/seed.hpp"

#include "shares/sodium_ready.hpp"

#include <sodium.h>

#include <string>

namespace postern::shares {
namespace {

// Keeps these hashes apart from any other keyed hash someone computes with the same seed.
constexpr std::string_view kDeriveSeedContext = "postern share seed v1:";

}  // namespace

Seed random_seed() {
  ensure_sodium_ready();
  Seed seed;
  randombytes_buf(seed.data(), seed.size());
  return seed;
}

Seed derive_seed(const Seed& parent, std::string_view label) {
  ensure_sodium_ready();
  std::string input(kDeriveSeedContext);
  input.append(label);
  Seed seed;
  crypto_generichash(seed.data(), seed.size(), reinterpret_cast<const unsigned char*>(input.data()),
                     input.size(), parent.data(), parent.size());
  return seed;
}

}  // namespace postern::shares
