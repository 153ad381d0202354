#include "server/delivery/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace postern::delivery {

std::chrono::seconds retry_delay(unsigned attempts_so_far, const DeliveryConfig& config,
                                 double jitter_unit) {
  return retry_delay(attempts_so_far, config.first_retry_seconds, config.max_retry_seconds, jitter_unit);
}

std::chrono::seconds retry_delay(unsigned attempts_so_far, unsigned first_retry_seconds, unsigned max_retry_seconds,
                                 double jitter_unit) {
  const double cap = std::max(max_retry_seconds, 1u);
  // Doubling stops at the cap, so large attempt counts cannot overflow.
  double base = std::min<double>(std::max(first_retry_seconds, 1u), cap);
  for (unsigned i = 1; i < attempts_so_far && base < cap; ++i) base = std::min(base * 2, cap);
  const double low = std::max(base * 0.8, 1.0);
  const double high = std::min(base * 1.2, cap);
  const double unit = std::clamp(jitter_unit, 0.0, 1.0);
  return std::chrono::seconds(std::lround(low + (high - low) * unit));
}

}  // namespace postern::delivery
