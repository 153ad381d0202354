// Per-user sending limits: messages and recipients per hour and per day (migrations/0009).
// Defaults come from the relay's postern.yaml; a user's own limits (LimitOverrides) live in
// postern_sending_limits and are set with `mailadmin limit`. What each user sent is counted by
// each relay process in memory and added to postern_sending_usage in batches, one row per user,
// window and process; a user's usage in a window is the sum of its rows. The windows are fixed:
// a window of `seconds` starts at every multiple of `seconds` in Unix time, so every replica
// agrees on them without talking.
//
// Changes to postern_sending_limits notify kUserChannel like changes to users and grants, so the
// relays drop what they cached about the user at once.
//
// Failures: NotFound (no such user), InvalidInput, DatabaseUnavailable (errors.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pqxx { class connection_base; }

namespace postern::schema {

// The channel every change to a user, its grants or its limits is notified on; the payload is the
// user's name, or kAllUsers when a change concerns every user (migrations/0009).
inline constexpr const char* kUserChannel = "postern_users";
inline constexpr const char* kAllUsers = "*";

// One limit of one user: the relay's default, no limit, or at most `count` in the window.
struct LimitSetting {
  enum class Kind { Default, Unlimited, AtMost } kind = Kind::Default;
  std::int64_t count = 0;
  friend bool operator==(const LimitSetting&, const LimitSetting&) = default;
};

struct LimitOverrides {
  LimitSetting messages_per_hour;
  LimitSetting messages_per_day;
  LimitSetting recipients_per_hour;
  LimitSetting recipients_per_day;
  friend bool operator==(const LimitOverrides&, const LimitOverrides&) = default;
};

struct SendingUsage {
  std::int64_t messages = 0;
  std::int64_t recipients = 0;
  friend bool operator==(const SendingUsage&, const SendingUsage&) = default;
};

// A window: `seconds` long, starting at `start` (Unix seconds, a multiple of `seconds`).
struct UsageWindow {
  std::int64_t seconds = 0;
  std::int64_t start = 0;
  friend bool operator==(const UsageWindow&, const UsageWindow&) = default;
};

// The window of `seconds` that holds Unix time `now`.
UsageWindow window_at(std::int64_t seconds, std::int64_t now);

// ---- The relay -----------------------------------------------------------------------------

// What the relay needs to check a user's limits: the user's own limits and every replica's
// counts in the two current windows. nullopt when the user does not exist.
struct UserSendingState {
  std::int64_t user_id = 0;
  LimitOverrides overrides;
  SendingUsage hour;
  SendingUsage day;
};
std::optional<UserSendingState> user_sending_state(pqxx::connection_base& db, const std::string& user,
                                                   UsageWindow hour, UsageWindow day);

struct UsageCount {
  std::int64_t user_id = 0;
  UsageWindow window;
  SendingUsage usage;
};

// Adds these counts to this replica's rows, in one statement, committed without waiting for the
// WAL flush (a crash of PostgreSQL may forget the last second of counts: the limits are a brake,
// not a ledger).
void add_sending_usage(pqxx::connection_base& db, const std::string& replica, const std::vector<UsageCount>& counts);

// Every replica's counts, summed, for these users and windows; a pair with no rows is absent.
std::vector<UsageCount> sending_usage_totals(pqxx::connection_base& db,
                                             const std::vector<std::pair<std::int64_t, UsageWindow>>& keys);

// Deletes the rows of windows that ended before Unix time `now`.
void expire_sending_usage(pqxx::connection_base& db, std::int64_t now);

// ---- mailadmin -----------------------------------------------------------------------------

LimitOverrides sending_limits_of(pqxx::connection_base& db, const std::string& user);
// The user's own limits replaced by change(current), in one transaction that locks the user, so
// concurrent changes of one user never lose each other; returns them. All four Default removes
// the user's row. Audited.
LimitOverrides change_sending_limits(pqxx::connection_base& db, const std::string& user,
                                     const std::function<LimitOverrides(const LimitOverrides&)>& change,
                                     const std::string& actor);
void set_sending_limits(pqxx::connection_base& db, const std::string& user, const LimitOverrides& limits,
                        const std::string& actor);

struct WindowUsage {
  UsageWindow window;
  SendingUsage usage;  // summed over the replicas
  std::string started_at;  // UTC, "YYYY-MM-DD HH:MM:SS"
};
// The user's counts in every window that has not ended, shortest window first.
std::vector<WindowUsage> current_sending_usage(pqxx::connection_base& db, const std::string& user);

// "500/hour", "unlimited/day", "default/hour" and the like, for mailadmin and the audit log.
std::string describe_limit(const LimitSetting& setting, const char* window);

}  // namespace postern::schema
