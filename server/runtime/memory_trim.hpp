// Gives the heap memory of a large message back to the operating system. glibc keeps what is
// freed in its arenas (one per thread that allocated, up to eight per core) for reuse, so after
// a burst of large messages the process's RSS would stay near its peak; malloc_trim(0) returns
// the free pages of every arena. Intake calls this once it accepted a message, delivery once it
// delivered (or deferred) one:
//
//   memory::after_message(size);   // asks for a trim when size >= kLargeMessage
//
// The trim runs on a thread of its own, never on the caller's: it takes each arena's lock in
// turn and costs from a tenth of a millisecond to several (bench/memory.sh, BENCH_LOG_LEVEL=debug
// shows each). Requests that come while one runs, or within kTrimInterval of the last, make one
// more trim at the end of that interval, so a burst of large messages costs a few trims and the
// memory of its last message is still returned.
#pragma once

#include <chrono>
#include <cstdint>

namespace postern::memory {

inline constexpr std::uint64_t kLargeMessage = 1024 * 1024;
inline constexpr std::chrono::milliseconds kTrimInterval{100};

// After a message of `size` octets left this process's hands. Thread-safe, never blocks on the
// trim, never throws.
void after_message(std::uint64_t size);

}  // namespace postern::memory
