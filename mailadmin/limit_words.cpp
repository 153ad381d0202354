// The words of `mailadmin limit`. See limit_words.hpp.
#include "limit_words.hpp"

#include "exit_codes.hpp"

#include "postern/schema/printable.hpp"

#include <charconv>
#include <system_error>

namespace postern::mailadmin {
namespace {

namespace schema = postern::schema;
using Setting = schema::LimitSetting;

constexpr const char* kLimitForms = "N/hour, N/day, unlimited/... or default/...";

// A refused word echoed in an error: no control sequence reaches the terminal.
std::string quoted(const std::string& word) { return "\"" + schema::escape_unprintable(word) + "\""; }

struct Limit {
  bool per_day = false;
  Setting setting;
};

Limit parse_limit(const std::string& word) {
  const auto slash = word.find('/');
  const std::string value = word.substr(0, slash);
  const std::string window = slash == std::string::npos ? "" : word.substr(slash + 1);
  const auto malformed = [&] {
    return UsageError(std::string("limit: expected ") + kLimitForms + ", got " + quoted(word));
  };
  if (window != "hour" && window != "day") throw malformed();
  const bool per_day = window == "day";
  if (value == "default") return {per_day, {Setting::Kind::Default, 0}};
  if (value == "unlimited") return {per_day, {Setting::Kind::Unlimited, 0}};
  std::int64_t count = 0;
  const char* end = value.data() + value.size();
  const auto [stop, error] = std::from_chars(value.data(), end, count);
  if (value.empty() || stop != end || (error != std::errc{} && error != std::errc::result_out_of_range)) {
    throw malformed();
  }
  if (error == std::errc::result_out_of_range || count < 1 || count > kMaxLimit) {
    throw UsageError("limit: N must be from 1 to " + std::to_string(kMaxLimit) + ", got " + quoted(word));
  }
  return {per_day, {Setting::Kind::AtMost, count}};
}

// The limits a keyword (`messages`, `recipients`) sets.
struct Group {
  const char* name;
  std::optional<Setting>* per_hour;
  std::optional<Setting>* per_day;
};

UsageError nothing_after(const Group& group) {
  return UsageError(std::string("limit: expected ") + kLimitForms + " after " + group.name);
}

}  // namespace

LimitChanges parse_limit_words(const std::vector<std::string>& words) {
  LimitChanges changes;
  if (words.empty()) return changes;
  if (words.front() == "default") {
    if (words.size() > 1) {
      throw UsageError("limit: default resets all four limits and takes no other word "
                       "(default/hour or default/day resets one)");
    }
    changes.reset = true;
    return changes;
  }
  const Group messages{"messages", &changes.messages_per_hour, &changes.messages_per_day};
  const Group recipients{"recipients", &changes.recipients_per_hour, &changes.recipients_per_day};
  const Group* group = nullptr;
  bool group_has_limit = false;
  for (const auto& word : words) {
    if (word == "messages" || word == "recipients") {
      if (group != nullptr && !group_has_limit) throw nothing_after(*group);
      group = word == "messages" ? &messages : &recipients;
      group_has_limit = false;
      continue;
    }
    if (group == nullptr) {
      throw UsageError("limit: expected messages, recipients or default, got " + quoted(word));
    }
    const Limit limit = parse_limit(word);
    std::optional<Setting>& slot = limit.per_day ? *group->per_day : *group->per_hour;
    if (slot) {
      throw UsageError(std::string("limit: ") + group->name + " per " + (limit.per_day ? "day" : "hour") +
                       " given twice");
    }
    slot = limit.setting;
    group_has_limit = true;
  }
  if (!group_has_limit) throw nothing_after(*group);
  return changes;
}

std::string describe_limits(const schema::LimitOverrides& limits) {
  return "messages " + schema::describe_limit(limits.messages_per_hour, "hour") + " " +
         schema::describe_limit(limits.messages_per_day, "day") + ", recipients " +
         schema::describe_limit(limits.recipients_per_hour, "hour") + " " +
         schema::describe_limit(limits.recipients_per_day, "day");
}

}  // namespace postern::mailadmin
