// Database migrations: the numbered files of migrations/ are embedded in every binary at build
// time. `plan_migrations` compares them with what a database recorded (pure, unit-tested);
// `migrate` applies the pending ones under an advisory lock so replicas starting together are safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pqxx { class connection_base; }

namespace postern::schema {

struct MigrationFile {
  int version;
  std::string name;
  std::string sql;
};

// The migrations built into this binary, ordered by version.
const std::vector<MigrationFile>& embedded_migrations();

struct AppliedMigration {
  int version;
  std::string name;
  std::string checksum;
  std::string applied_at;
};

enum class MigrationState { Applied, Pending, Changed, Unknown };

struct MigrationStatus {
  int version;
  std::string name;
  MigrationState state;
  std::string applied_at;  // empty when pending
};

struct MigrationPlan {
  std::vector<MigrationStatus> status;       // every known version, in order
  std::vector<const MigrationFile*> pending;  // to apply, in order
  std::vector<std::string> problems;         // checksum changes: refuse to migrate
};

// SHA-256 of a migration's text, lowercase hex: what the database records.
std::string migration_checksum(const std::string& sql);

MigrationPlan plan_migrations(const std::vector<MigrationFile>& files,
                              const std::vector<AppliedMigration>& applied);

// Reads the bookkeeping table (empty when it does not exist yet).
std::vector<AppliedMigration> applied_migrations(pqxx::connection_base& db);

// The plan for this binary's migrations against the database.
MigrationPlan migration_status(pqxx::connection_base& db);

// Applies every pending migration, each in its own transaction, holding an advisory lock.
// Throws SchemaError (see errors.hpp) when an applied migration's checksum changed.
// Returns the versions applied.
std::vector<int> migrate(pqxx::connection_base& db);

}  // namespace postern::schema
