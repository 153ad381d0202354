#include "shares/sodium_ready.hpp"

#include <sodium.h>

#include <stdexcept>

namespace postern::shares {

void ensure_sodium_ready() {
  // A function-local static: initialised once, and concurrent first callers wait for it.
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium failed to initialise");
}

}  // namespace postern::shares
