// Internal to the schema library: how a file of SQL declares its prepared statements, the one
// timestamp format text reads travel in, and the condition that spares bookkeeping the WAL flush.
//
//   constexpr Statement kStatements[] = {{"user_add", "INSERT ..."}, ...};
//   prepare_all(db, kStatements);
#pragma once

#include <pqxx/pqxx>

#include <string>
#include <type_traits>
#include <vector>

// Timestamps travel as text in one format, UTC: "YYYY-MM-DD HH:MM:SS".
#define POSTERN_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"

// A condition for delivery's bookkeeping (claims, leases, attempt records), always true: on the
// way it makes the transaction it runs in commit without waiting for the WAL flush, as SET LOCAL
// synchronous_commit = off would, with no statement of its own, so a lone statement (its own
// transaction) needs one round trip. Every row such a statement changes passed this condition.
// A database crash may lose those commits: the message is then claimed and delivered again, as
// at-least-once allows. Never in intake: its 250 means the message is flushed.
#define POSTERN_NO_FLUSH_WAIT "set_config('synchronous_commit', 'off', true) = 'off'"

namespace postern::schema {

struct Statement {
  const char* name;
  const char* sql;
};

// A PostgreSQL array literal of `values`: {1,2}, or {"a","b\"c"} for text. libpqxx 6.4 binds no
// arrays: pass it to a parameter cast to integer[] or text[].
template <class T>
std::string array_literal(const std::vector<T>& values) {
  std::string array = "{";
  for (const auto& value : values) {
    if (array.size() > 1) array += ',';
    if constexpr (std::is_arithmetic_v<T>) {
      array += std::to_string(value);
    } else {
      array += '"';
      for (const char c : value) {
        if (c == '"' || c == '\\') array += '\\';
        array += c;
      }
      array += '"';
    }
  }
  return array + "}";
}

// Idempotent: libpqxx registers a definition once per connection and prepares it on first use.
template <std::size_t N>
void prepare_all(pqxx::connection_base& db, const Statement (&statements)[N]) {
  for (const auto& s : statements) db.prepare(s.name, s.sql);
}

}  // namespace postern::schema
