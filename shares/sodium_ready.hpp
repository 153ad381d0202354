// libsodium must be initialised once before use (it picks the fastest implementation of each
// primitive for this CPU). ensure_sodium_ready() does that, thread-safely, and throws
// std::runtime_error if it cannot.
#pragma once

namespace postern::shares {

void ensure_sodium_ready();

}  // namespace postern::shares
