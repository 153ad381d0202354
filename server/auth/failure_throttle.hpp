// Brute-force brake for AUTH that never locks the owner of a password out. Failures are counted
// per client network (an IPv4 address, an IPv6 /64: client_network()) and per (user, network),
// in a sliding window:
//
// - A network that failed for a user waits before each next check for that user (failure_delay,
//   doubled per failure) and is refused (421) once it used up its budget for that user
//   (per_user_network) — or, for all users, its budget across user names (per_network), except
//   for users who logged in from it lately (known networks).
// - A network with no recent failure for the user is checked normally, never refused: at most it
//   waits user_delay while the user is under attack (a recent failure from anywhere). That wait is spent inside one of the user's few check slots
//   (checks_per_user), which bounds the guess rate of an attacker with a fresh network for every
//   guess to about checks_per_user / user_delay. When slots are short, attempts from clean
//   networks go before those from networks that failed for the user. Known networks skip the
//   wait and the cap.
//
// An attempt counts from begin() on where its network has failed, and enter() checks the
// budget again before each hash, so simultaneous guesses cannot all reach the hash. Use, one
// attempt at a time per AUTH (CredentialCheck does):
//
//   auto attempt = throttle.begin(user, client_address, now);   // refused: 421, then end()
//   wait attempt.delay; then enter() until it gives the user delay (nullopt: all slots busy)
//   wait that delay, check the password, then end(attempt, Result::Success or Failure, now)
//
// Thread-safe; the clock is passed in so the rules are unit-tested without sleeping. The counts
// live in this process: each replica brakes on its own.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace postern::auth {

// The network an address belongs to for the throttle: an IPv4 address as it is
// ("203.0.113.5"), an IPv6 address as its /64 ("2001:db8:1:2::/64"), IPv4-mapped IPv6 as
// IPv4. Anything else is its own network.
std::string client_network(std::string_view address);

class FailureThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  struct Limits {
    std::chrono::seconds window{900};
    unsigned per_network = 30;       // failures from one network, any user names
    unsigned per_user_network = 5;   // failures for one user from one network
    std::chrono::milliseconds failure_delay{1000};  // after a network's first failure for the user
    std::chrono::milliseconds user_delay{1000};     // a clean network, while the user is under attack
    unsigned checks_per_user = 2;    // concurrent checks for one user (known networks aside)
    std::chrono::hours known_network_for{24 * 30};  // 0: no network is ever known
  };

  // One AUTH attempt, from begin() to end().
  struct Attempt {
    std::string user;     // as normalised; "" for a name that cannot be one
    std::string network;  // client_network() of the client's address
    bool refused = false;  // over a budget: answer 421 without checking
    std::chrono::milliseconds delay{0};  // wait this, then enter()
    bool known = false;    // the user logged in from this network lately
    bool clean = false;    // no recent failure for this user from this network
    bool waiting = false;  // a clean attempt that found every slot busy: others let it go first
    bool entered = false;  // holds one of the user's check slots
    bool over_budget = false;  // enter() found the budget used up meanwhile: answer 421
    bool ended = false;
  };

  enum class Result {
    Success,    // the password matched: the network's failures for this user are forgotten
    Failure,    // a wrong password, an unknown or disabled user
    Undecided,  // no answer (lookup failed, hashing full, no slot in time): not counted
  };

  explicit FailureThrottle(Limits limits) : limits_(limits) {}

  // A reload: the counts are kept and judged by the new limits from now on.
  void set_limits(Limits limits);

  // Starts an attempt and counts it against the network at once.
  Attempt begin(std::string user, std::string_view address, Clock::time_point now);

  // Takes one of the user's check slots: returns the wait before the check (the user delay, or
  // 0), or nullopt when every slot is busy, or when clean attempts wait and this one is not
  // clean (ask again a little later), or when failures used up the budget meanwhile
  // (attempt.over_budget: answer 421). Known networks always get one, with no wait.
  std::optional<std::chrono::milliseconds> enter(Attempt& attempt, Clock::time_point now);

  // Ends an attempt (once; refused ones too), releasing its slot and counts.
  void end(Attempt& attempt, Result result, Clock::time_point now);

 private:
  using Failures = std::deque<Clock::time_point>;
  struct Counter {
    Failures failures;
    unsigned in_flight = 0;  // begun, not ended
    unsigned checking = 0;   // (user, network) pairs only: attempts that hold a check slot
  };
  struct UserState {
    Failures failures;       // from every network
    unsigned in_flight = 0;  // attempts begun, not ended
    unsigned checking = 0;   // attempts that hold a check slot
    unsigned clean_waiting = 0;  // clean attempts that found no free slot yet
  };

  std::size_t recent(Failures& failures, Clock::time_point now) const;
  bool known(const std::string& pair, Clock::time_point now);
  std::chrono::milliseconds network_delay(std::size_t failed_or_in_flight) const;
  void forget_old(Clock::time_point now);

  Limits limits_;
  std::mutex mutex_;
  std::unordered_map<std::string, Counter> networks_;
  std::unordered_map<std::string, Counter> pairs_;  // key: user '\n' network
  std::unordered_map<std::string, UserState> users_;
  std::unordered_map<std::string, Clock::time_point> known_;  // pair -> last login from there
  Clock::time_point last_sweep_{};
};

}  // namespace postern::auth
