// The words of `mailadmin limit USER ...`: which of a user's four sending limits to change, and
// to what (schema/sending_limits.hpp). Parsed before anything connects, so a wrong word is a
// usage error (exit 2) even without a database. Pure functions.
#pragma once

#include "postern/schema/sending_limits.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace postern::mailadmin {

inline constexpr const char* kLimitUsage =
    "limit USER [messages LIMIT...] [recipients LIMIT...] | limit USER default";

// The largest N of N/hour and N/day: 2^53, which every JSON reader holds exactly.
inline constexpr std::int64_t kMaxLimit = std::int64_t{1} << 53;

// What the words after USER ask for. No word at all: show the limits.
struct LimitChanges {
  bool reset = false;  // `default`: all four back to the relay's postern.yaml
  // The limits named; the others keep their current setting.
  std::optional<schema::LimitSetting> messages_per_hour;
  std::optional<schema::LimitSetting> messages_per_day;
  std::optional<schema::LimitSetting> recipients_per_hour;
  std::optional<schema::LimitSetting> recipients_per_day;

  bool empty() const {
    return !reset && !messages_per_hour && !messages_per_day && !recipients_per_hour && !recipients_per_day;
  }
  // `current` with these changes made.
  schema::LimitOverrides applied_to(schema::LimitOverrides current) const;
};

// `default`, or `messages LIMIT...` and `recipients LIMIT...` in any order, each LIMIT one of
// N/hour, N/day (1 <= N <= kMaxLimit), unlimited/hour, unlimited/day, default/hour, default/day.
// Throws UsageError naming the word it cannot take.
LimitChanges parse_limit_words(const std::vector<std::string>& words);

// "messages 100/hour default/day, recipients unlimited/hour 2000/day": for -v.
std::string describe_limits(const schema::LimitOverrides& limits);

}  // namespace postern::mailadmin
