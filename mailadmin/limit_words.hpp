// The words of `mailadmin limit USER ...`: which of a user's four sending limits to change, and
// to what (schema/sending_limits.hpp). Parsed before anything connects, so a wrong word is a
// usage error (exit 2) even without a database. Pure functions.
#pragma once

#include "postern/schema/admin_operations.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace postern::mailadmin {

inline constexpr const char* kLimitUsage =
    "limit USER [messages LIMIT...] [recipients LIMIT...] | limit USER default";

inline constexpr std::int64_t kMaxLimit = schema::kMaxLimit;

// What the words after USER ask for (no word at all: show the limits).
using LimitChanges = schema::LimitChanges;

// `default`, or `messages LIMIT...` and `recipients LIMIT...` in any order, each LIMIT one of
// N/hour, N/day (1 <= N <= kMaxLimit), unlimited/hour, unlimited/day, default/hour, default/day.
// Throws UsageError naming the word it cannot take.
LimitChanges parse_limit_words(const std::vector<std::string>& words);

// "messages 100/hour default/day, recipients unlimited/hour 2000/day": for -v.
std::string describe_limits(const schema::LimitOverrides& limits);

}  // namespace postern::mailadmin
