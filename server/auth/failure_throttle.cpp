// See failure_throttle.hpp.
#include "server/auth/failure_throttle.hpp"

#include <algorithm>
#include <array>
#include <iterator>

#include <arpa/inet.h>

namespace postern::auth {
namespace {

constexpr unsigned kMaxDoublings = 5;  // the network delay stops growing at 32 x failure_delay

}  // namespace

std::string client_network(std::string_view address) {
  const std::string text(address);
  std::array<unsigned char, 16> bytes{};
  if (inet_pton(AF_INET, text.c_str(), bytes.data()) == 1) return text;
  if (inet_pton(AF_INET6, text.c_str(), bytes.data()) != 1) return text;
  static constexpr std::array<unsigned char, 12> kMapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char out[INET6_ADDRSTRLEN] = {};
  if (std::equal(kMapped.begin(), kMapped.end(), bytes.begin())) {
    inet_ntop(AF_INET, bytes.data() + 12, out, sizeof out);
    return out;
  }
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  inet_ntop(AF_INET6, bytes.data(), out, sizeof out);
  return std::string(out) + "/64";
}

void FailureThrottle::set_limits(Limits limits) {
  std::lock_guard lock{mutex_};
  limits_ = limits;
}

std::size_t FailureThrottle::recent(Failures& failures, Clock::time_point now) const {
  while (!failures.empty() && now - failures.front() > limits_.window) failures.pop_front();
  return failures.size();
}

bool FailureThrottle::known(const std::string& pair, Clock::time_point now) {
  auto it = known_.find(pair);
  return it != known_.end() && now - it->second <= limits_.known_network_for;
}

// None before the first failure of this network for this user; then doubling.
std::chrono::milliseconds FailureThrottle::network_delay(std::size_t failed_or_in_flight) const {
  if (failed_or_in_flight == 0) return std::chrono::milliseconds{0};
  const auto doublings = std::min<std::size_t>(failed_or_in_flight - 1, kMaxDoublings);
  return limits_.failure_delay * (1L << doublings);
}

// Keeps memory bounded under a spray of distinct networks or names: once per window, entries
// with nothing in flight and nothing recent go.
void FailureThrottle::forget_old(Clock::time_point now) {
  if (now - last_sweep_ < limits_.window) return;
  last_sweep_ = now;
  for (auto* table : {&networks_, &pairs_}) {
    for (auto it = table->begin(); it != table->end();) {
      const bool idle = it->second.in_flight == 0 && recent(it->second.failures, now) == 0;
      it = idle ? table->erase(it) : std::next(it);
    }
  }
  for (auto it = users_.begin(); it != users_.end();) {
    UserState& user = it->second;
    const bool idle = user.in_flight == 0 && user.checking == 0 && recent(user.failures, now) == 0;
    it = idle ? users_.erase(it) : std::next(it);
  }
  std::erase_if(known_, [&](const auto& entry) { return now - entry.second > limits_.known_network_for; });
}

FailureThrottle::Attempt FailureThrottle::begin(std::string user, std::string_view address,
                                                Clock::time_point now) {
  Attempt attempt{std::move(user), client_network(address)};
  const std::string pair = attempt.user + '\n' + attempt.network;
  std::lock_guard lock{mutex_};
  forget_old(now);
  attempt.known = known(pair, now);
  Counter& network = networks_[attempt.network];
  Counter& both = pairs_[pair];
  const std::size_t failed_for_user = recent(both.failures, now);
  const std::size_t failed_here = recent(network.failures, now);
  attempt.clean = failed_for_user == 0;
  // Attempts in flight count only from a network that has failed: a burst of honest logins (an
  // application opening many connections at once) is never refused. From a clean network the
  // user's check slots bound them, and enter() checks the budget again before each hash.
  const std::size_t for_user = failed_for_user + (attempt.clean ? 0 : both.in_flight);
  const std::size_t for_network = failed_here + (failed_here > 0 ? network.in_flight : 0);
  if (for_user >= limits_.per_user_network || (!attempt.known && for_network >= limits_.per_network)) {
    attempt.refused = true;
    return attempt;
  }
  ++network.in_flight;
  ++both.in_flight;
  ++users_[attempt.user].in_flight;
  attempt.delay = network_delay(for_user);
  return attempt;
}

std::optional<std::chrono::milliseconds> FailureThrottle::enter(Attempt& attempt, Clock::time_point now) {
  if (attempt.refused || attempt.over_budget || attempt.ended) return std::nullopt;
  if (attempt.entered) return std::chrono::milliseconds{0};
  std::lock_guard lock{mutex_};
  Counter& both = pairs_[attempt.user + '\n' + attempt.network];
  if (!attempt.known && recent(both.failures, now) + both.checking >= limits_.per_user_network) {
    attempt.over_budget = true;  // failures came in while this one waited: no hash for it
    return std::nullopt;
  }
  UserState& user = users_[attempt.user];
  const bool full = user.checking >= limits_.checks_per_user;
  if (!attempt.known && (full || (!attempt.clean && user.clean_waiting > 0))) {
    if (attempt.clean && !attempt.waiting) {
      attempt.waiting = true;
      ++user.clean_waiting;
    }
    return std::nullopt;
  }
  if (attempt.waiting) {
    attempt.waiting = false;
    --user.clean_waiting;
  }
  ++user.checking;
  ++both.checking;
  attempt.entered = true;
  const bool under_attack = recent(user.failures, now) > 0;
  if (attempt.known || !under_attack) return std::chrono::milliseconds{0};
  return limits_.user_delay;
}

void FailureThrottle::end(Attempt& attempt, Result result, Clock::time_point now) {
  if (attempt.ended) return;
  attempt.ended = true;
  if (attempt.refused) return;  // never counted
  const std::string pair = attempt.user + '\n' + attempt.network;
  std::lock_guard lock{mutex_};
  Counter& network = networks_[attempt.network];
  Counter& both = pairs_[pair];
  UserState& user = users_[attempt.user];
  --network.in_flight;
  --both.in_flight;
  --user.in_flight;
  if (attempt.entered) {
    --user.checking;
    --both.checking;
  }
  if (attempt.waiting) --user.clean_waiting;
  switch (result) {
    case Result::Failure:
      network.failures.push_back(now);
      both.failures.push_back(now);
      user.failures.push_back(now);
      break;
    case Result::Success:
      both.failures.clear();
      if (limits_.known_network_for.count() > 0) known_[pair] = now;
      break;
    case Result::Undecided:
      break;
  }
}

}  // namespace postern::auth
