// Internal to the schema library: how a file of SQL declares its prepared statements, and the one
// timestamp format text reads travel in.
//
//   constexpr Statement kStatements[] = {{"user_add", "INSERT ..."}, ...};
//   prepare_all(db, kStatements);
#pragma once

#include <pqxx/pqxx>

// Timestamps travel as text in one format, UTC: "YYYY-MM-DD HH:MM:SS".
#define POSTERN_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"

namespace postern::schema {

struct Statement {
  const char* name;
  const char* sql;
};

// Idempotent: libpqxx registers a definition once per connection and prepares it on first use.
template <std::size_t N>
void prepare_all(pqxx::connection_base& db, const Statement (&statements)[N]) {
  for (const auto& s : statements) db.prepare(s.name, s.sql);
}

}  // namespace postern::schema
