// The arithmetic of per-user sending limits, without I/O: which limits apply to a user, and one
// user's counts in the two windows ("hour" and "day", of configured lengths) as this replica sees
// them. The counts of a window are
//
//   synced     every replica's, as last read from PostgreSQL (this one's flushed counts included)
//   in_flight  this replica's, being added to PostgreSQL now
//   unsynced   this replica's, counted since
//
// and a command is allowed while their sum stays within the limit. Exact on one replica; with
// several, each sees the others' counts as of its last sync (SendingLimits, about once a
// second), so together they can overshoot a limit by what the others accepted since.
//
//   SendingBudget budget{lengths, limits, user_id, hour_total, day_total, now};
//   if (!budget.try_message(now)) -> 450
#pragma once

#include "postern/schema/sending_limits.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace postern::policy {

// nullopt: no limit.
struct Limits {
  std::optional<std::int64_t> messages_per_hour;
  std::optional<std::int64_t> messages_per_day;
  std::optional<std::int64_t> recipients_per_hour;
  std::optional<std::int64_t> recipients_per_day;
  friend bool operator==(const Limits&, const Limits&) = default;
};

// The user's own limits where set, the defaults elsewhere.
Limits effective_limits(const Limits& defaults, const schema::LimitOverrides& own);

struct WindowLengths {
  std::int64_t hour = 3600;
  std::int64_t day = 86400;
};

class SendingBudget {
 public:
  // `hour_total` and `day_total`: every replica's counts in the windows holding `now`.
  SendingBudget(WindowLengths lengths, Limits limits, std::int64_t user_id, schema::SendingUsage hour_total,
                schema::SendingUsage day_total, std::int64_t now);

  // One more message, or recipient, within both windows' limits: counted, true. Over: false,
  // nothing counted. `now` in Unix seconds; a new window starts from zero.
  bool try_message(std::int64_t now);
  bool try_recipient(std::int64_t now);

  void set_limits(const Limits& limits) { limits_ = limits; }
  const Limits& limits() const { return limits_; }
  std::int64_t user_id() const { return user_id_; }
  // All replicas' counts in the window of this length holding `now`, as far as this one knows.
  schema::SendingUsage used(std::int64_t window_length, std::int64_t now);

  // The sync with PostgreSQL (SendingLimits): take the unsynced counts to add (they are in flight
  // until flushed() or flush_failed()), then replace the synced counts with the totals read.
  std::vector<schema::UsageCount> take_unsynced();
  void flushed();
  void flush_failed();
  // The windows whose totals to read.
  std::vector<schema::UsageWindow> windows() const;
  // Every replica's totals; a current window absent from `totals` has none.
  void refreshed(const std::vector<schema::UsageCount>& totals);
  void reloaded(schema::SendingUsage hour_total, schema::SendingUsage day_total, std::int64_t now);
  bool has_unsynced() const;

 private:
  struct Window {
    schema::UsageWindow window;
    schema::SendingUsage synced, in_flight, unsynced;
    schema::SendingUsage used() const;
  };
  // Moves both windows to those holding `now`; a new window starts with no counts (the counts of
  // the one that ended no longer limit anything, and are not added to PostgreSQL).
  void roll(std::int64_t now);

  Limits limits_;
  std::int64_t user_id_;
  Window hour_, day_;
};

}  // namespace postern::policy
