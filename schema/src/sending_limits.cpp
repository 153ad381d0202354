// See sending_limits.hpp.
#include "postern/schema/sending_limits.hpp"

#include "audit.hpp"
#include "guarded.hpp"
#include "statements.hpp"
#include "postern/schema/errors.hpp"

#include <pqxx/pqxx>

namespace postern::schema {
namespace {

// Array parameters travel as PostgreSQL array text ("{1,2,3}"): libpqxx 6.4 has no conversion
// for them, and integers need no quoting.
constexpr Statement kStatements[] = {
    {"sending_state",
     "SELECT u.id, l.messages_per_hour, l.messages_per_day, l.recipients_per_hour, l.recipients_per_day, "
     "  s.messages_hour, s.recipients_hour, s.messages_day, s.recipients_day "
     "FROM emailing_users u "
     "LEFT JOIN postern_sending_limits l ON l.user_id = u.id "
     "CROSS JOIN LATERAL ("
     "  SELECT coalesce(sum(messages) FILTER (WHERE window_seconds = $2 AND window_start = $3), 0) AS messages_hour,"
     "         coalesce(sum(recipients) FILTER (WHERE window_seconds = $2 AND window_start = $3), 0) AS recipients_hour,"
     "         coalesce(sum(messages) FILTER (WHERE window_seconds = $4 AND window_start = $5), 0) AS messages_day,"
     "         coalesce(sum(recipients) FILTER (WHERE window_seconds = $4 AND window_start = $5), 0) AS recipients_day"
     "  FROM postern_sending_usage WHERE user_id = u.id) s "
     "WHERE u.name = $1"},
    {"sending_usage_add",
     "INSERT INTO postern_sending_usage (user_id, window_seconds, window_start, replica, messages, recipients) "
     "SELECT u, w, s, $1, m, r FROM unnest($2::bigint[], $3::integer[], $4::bigint[], $5::bigint[], $6::bigint[]) "
     "  AS t(u, w, s, m, r) "
     "ON CONFLICT (user_id, window_seconds, window_start, replica) DO UPDATE SET "
     "  messages = postern_sending_usage.messages + EXCLUDED.messages, "
     "  recipients = postern_sending_usage.recipients + EXCLUDED.recipients"},
    {"sending_usage_totals",
     "SELECT user_id, window_seconds, window_start, sum(messages), sum(recipients) FROM postern_sending_usage "
     "WHERE (user_id, window_seconds, window_start) IN "
     "  (SELECT * FROM unnest($1::bigint[], $2::integer[], $3::bigint[])) "
     "GROUP BY user_id, window_seconds, window_start"},
    {"sending_usage_expire", "DELETE FROM postern_sending_usage WHERE window_start + window_seconds < $1"},

    {"sending_limits_of",
     "SELECT u.id, l.messages_per_hour, l.messages_per_day, l.recipients_per_hour, l.recipients_per_day "
     "FROM emailing_users u LEFT JOIN postern_sending_limits l ON l.user_id = u.id WHERE u.name = $1"},
    // A change locks the user's row first, so two mailadmins changing different limits of one
    // user at once both take effect.
    {"sending_limits_lock",
     "SELECT u.id, l.messages_per_hour, l.messages_per_day, l.recipients_per_hour, l.recipients_per_day "
     "FROM emailing_users u LEFT JOIN postern_sending_limits l ON l.user_id = u.id WHERE u.name = $1 "
     "FOR UPDATE OF u"},
    {"sending_limits_set",
     "INSERT INTO postern_sending_limits "
     "  (user_id, messages_per_hour, messages_per_day, recipients_per_hour, recipients_per_day) "
     "VALUES ($1, $2, $3, $4, $5) "
     "ON CONFLICT (user_id) DO UPDATE SET messages_per_hour = EXCLUDED.messages_per_hour, "
     "  messages_per_day = EXCLUDED.messages_per_day, recipients_per_hour = EXCLUDED.recipients_per_hour, "
     "  recipients_per_day = EXCLUDED.recipients_per_day, updated_at = now()"},
    {"sending_limits_clear", "DELETE FROM postern_sending_limits WHERE user_id = $1"},
    {"sending_usage_current",
     "SELECT window_seconds, window_start, sum(messages), sum(recipients), "
     POSTERN_TS("to_timestamp(window_start)") " FROM postern_sending_usage u JOIN emailing_users e ON e.id = u.user_id "
     "WHERE e.name = $1 AND window_start + window_seconds > extract(epoch FROM now()) "
     "GROUP BY window_seconds, window_start ORDER BY window_seconds, window_start"},
};

LimitSetting setting_from(const pqxx::field& field) {
  if (field.is_null()) return {};
  const auto value = field.as<std::int64_t>();
  if (value < 0) return {LimitSetting::Kind::Unlimited, 0};
  return {LimitSetting::Kind::AtMost, value};
}

// The column's text: NULL for the default (libpqxx 6.4 sends a null char pointer as NULL), -1 for
// no limit.
class LimitColumn {
 public:
  explicit LimitColumn(const LimitSetting& setting) {
    if (setting.kind == LimitSetting::Kind::Unlimited) text_ = "-1";
    if (setting.kind == LimitSetting::Kind::AtMost) text_ = std::to_string(setting.count);
  }
  const char* param() const { return text_ ? text_->c_str() : nullptr; }

 private:
  std::optional<std::string> text_;
};

LimitOverrides overrides_from(const pqxx::row& row, int first) {
  return {setting_from(row[first]), setting_from(row[first + 1]), setting_from(row[first + 2]),
          setting_from(row[first + 3])};
}

template <typename T, typename Get>
std::string array_text(const std::vector<T>& items, Get get) {
  std::string text = "{";
  for (const auto& item : items) {
    if (text.size() > 1) text += ',';
    text += std::to_string(get(item));
  }
  return text + "}";
}

std::int64_t user_id_of(pqxx::transaction_base& tx, const char* statement, const std::string& user,
                        LimitOverrides* overrides) {
  auto rows = tx.exec_prepared(statement, user);
  if (rows.empty()) throw NotFound("user " + user + " does not exist");
  if (overrides) *overrides = overrides_from(rows[0], 1);
  return rows[0][0].as<std::int64_t>();
}

}  // namespace

UsageWindow window_at(std::int64_t seconds, std::int64_t now) {
  if (seconds <= 0) return {seconds, now};
  std::int64_t start = now - now % seconds;
  if (now < 0 && now % seconds != 0) start -= seconds;
  return {seconds, start};
}

std::optional<UserSendingState> user_sending_state(pqxx::connection_base& db, const std::string& user,
                                                   UsageWindow hour, UsageWindow day) {
  return guarded([&]() -> std::optional<UserSendingState> {
    prepare_all(db, kStatements);
    pqxx::read_transaction tx{db};
    auto rows = tx.exec_prepared("sending_state", user, hour.seconds, hour.start, day.seconds, day.start);
    if (rows.empty()) return std::nullopt;
    const auto& row = rows[0];
    return UserSendingState{row[0].as<std::int64_t>(), overrides_from(row, 1),
                            {row[5].as<std::int64_t>(), row[6].as<std::int64_t>()},
                            {row[7].as<std::int64_t>(), row[8].as<std::int64_t>()}};
  });
}

void add_sending_usage(pqxx::connection_base& db, const std::string& replica, const std::vector<UsageCount>& counts) {
  if (counts.empty()) return;
  guarded([&] {
    prepare_all(db, kStatements);
    pqxx::work tx{db};
    tx.exec0("SET LOCAL synchronous_commit = off");
    tx.exec_prepared("sending_usage_add", replica,
                     array_text(counts, [](const UsageCount& c) { return c.user_id; }),
                     array_text(counts, [](const UsageCount& c) { return c.window.seconds; }),
                     array_text(counts, [](const UsageCount& c) { return c.window.start; }),
                     array_text(counts, [](const UsageCount& c) { return c.usage.messages; }),
                     array_text(counts, [](const UsageCount& c) { return c.usage.recipients; }));
    tx.commit();
  });
}

std::vector<UsageCount> sending_usage_totals(pqxx::connection_base& db,
                                             const std::vector<std::pair<std::int64_t, UsageWindow>>& keys) {
  std::vector<UsageCount> totals;
  if (keys.empty()) return totals;
  return guarded([&] {
    prepare_all(db, kStatements);
    pqxx::read_transaction tx{db};
    using Key = std::pair<std::int64_t, UsageWindow>;
    auto rows = tx.exec_prepared("sending_usage_totals", array_text(keys, [](const Key& k) { return k.first; }),
                                 array_text(keys, [](const Key& k) { return k.second.seconds; }),
                                 array_text(keys, [](const Key& k) { return k.second.start; }));
    for (const auto& row : rows) {
      totals.push_back({row[0].as<std::int64_t>(), {row[1].as<std::int64_t>(), row[2].as<std::int64_t>()},
                        {row[3].as<std::int64_t>(), row[4].as<std::int64_t>()}});
    }
    return totals;
  });
}

void expire_sending_usage(pqxx::connection_base& db, std::int64_t now) {
  guarded([&] {
    prepare_all(db, kStatements);
    pqxx::work tx{db};
    tx.exec0("SET LOCAL synchronous_commit = off");
    tx.exec_prepared("sending_usage_expire", now);
    tx.commit();
  });
}

LimitOverrides sending_limits_of(pqxx::connection_base& db, const std::string& user) {
  return guarded([&] {
    prepare_all(db, kStatements);
    pqxx::read_transaction tx{db};
    LimitOverrides overrides;
    user_id_of(tx, "sending_limits_of", user, &overrides);
    return overrides;
  });
}

LimitOverrides change_sending_limits(pqxx::connection_base& db, const std::string& user,
                                     const std::function<LimitOverrides(const LimitOverrides&)>& change,
                                     const std::string& actor) {
  return guarded([&] {
    prepare_all(db, kStatements);
    pqxx::work tx{db};
    LimitOverrides limits;
    const std::int64_t user_id = user_id_of(tx, "sending_limits_lock", user, &limits);
    limits = change(limits);
    const std::string detail = describe_limit(limits.messages_per_hour, "hour") + " " +
                               describe_limit(limits.messages_per_day, "day") + " messages, " +
                               describe_limit(limits.recipients_per_hour, "hour") + " " +
                               describe_limit(limits.recipients_per_day, "day") + " recipients";
    if (limits == LimitOverrides{}) {
      tx.exec_prepared("sending_limits_clear", user_id);
    } else {
      const LimitColumn columns[] = {LimitColumn{limits.messages_per_hour}, LimitColumn{limits.messages_per_day},
                                     LimitColumn{limits.recipients_per_hour}, LimitColumn{limits.recipients_per_day}};
      tx.exec_prepared("sending_limits_set", user_id, columns[0].param(), columns[1].param(), columns[2].param(),
                       columns[3].param());
    }
    record_audit(tx, actor, "limit user", user, detail);
    tx.commit();
    return limits;
  });
}

void set_sending_limits(pqxx::connection_base& db, const std::string& user, const LimitOverrides& limits,
                        const std::string& actor) {
  change_sending_limits(db, user, [&](const LimitOverrides&) { return limits; }, actor);
}

std::vector<WindowUsage> current_sending_usage(pqxx::connection_base& db, const std::string& user) {
  return guarded([&] {
    prepare_all(db, kStatements);
    pqxx::read_transaction tx{db};
    std::vector<WindowUsage> usage;
    for (const auto& row : tx.exec_prepared("sending_usage_current", user)) {
      usage.push_back({{row[0].as<std::int64_t>(), row[1].as<std::int64_t>()},
                       {row[2].as<std::int64_t>(), row[3].as<std::int64_t>()},
                       row[4].as<std::string>()});
    }
    return usage;
  });
}

std::string describe_limit(const LimitSetting& setting, const char* window) {
  switch (setting.kind) {
    case LimitSetting::Kind::Default: return std::string("default/") + window;
    case LimitSetting::Kind::Unlimited: return std::string("unlimited/") + window;
    case LimitSetting::Kind::AtMost: return std::to_string(setting.count) + "/" + window;
  }
  return "";
}

}  // namespace postern::schema
