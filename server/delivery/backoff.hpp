// When a deferred message is tried again. After each attempt that leaves a recipient deferred,
// the delivery engine calls retry_delay() with the number of attempts made so far and a random
// number, and stores now + the delay as the message's next attempt time.
//
// The delay doubles per attempt from delivery.first_retry_seconds up to max_retry_seconds
// (first, 2×first, 4×first, ...), then is spread by ±20% so that messages deferred together
// (an upstream outage) do not all come back in the same second. The spread is cut to the range
// [1 s, max_retry_seconds], so at the cap it only goes downwards. Pure: the randomness is the
// caller's, which keeps tests deterministic.
#pragma once

#include <chrono>

#include "server/delivery/upstream.hpp"

namespace postern::delivery {

// `attempts_so_far` counts the attempt just made (0 is taken as 1); `jitter_unit` is uniform in
// [0, 1) (values outside are clamped): 0 gives the low end of the spread, 0.5 the middle.
std::chrono::seconds retry_delay(unsigned attempts_so_far, const DeliveryConfig& config,
                                 double jitter_unit);

// The same schedule from explicit bounds (the webhook dispatcher's webhooks.first_retry_seconds
// and max_retry_seconds).
std::chrono::seconds retry_delay(unsigned attempts_so_far, unsigned first_retry_seconds, unsigned max_retry_seconds,
                                 double jitter_unit);

}  // namespace postern::delivery
