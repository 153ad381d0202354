// Database migrations: the numbered files of migrations/ are embedded in every binary at build
// time. `plan_migrations` compares them with what a database recorded (pure, unit-tested);
// `migrate` applies the pending ones under an advisory lock so replicas starting together are safe.
//
// Schema changes are expand/contract, because old and new replicas share the database during a
// rolling update. An expand migration only adds (a table, a nullable column) and is applied by
// `mailadmin migrate` (the Kubernetes migration Job) before the new replicas start. A contract
// migration (its name starts with "contract_") removes what only older replicas used; it is
// applied only by `migrate(db, Contract::Apply)` (`mailadmin migrate --contract`), which an
// operator runs once the rollout finished. A pending contract migration never makes a replica
// unready.
//
// The relay connects as a role of its own; a migration that adds a table the relay uses grants
// that role what it needs there through the list in schema/src/relay_grants.cpp (relay_role.hpp,
// migrations/README.md).
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
  bool is_contract() const { return name.rfind("contract_", 0) == 0; }
};

// The migrations built into this binary, ordered by version.
const std::vector<MigrationFile>& embedded_migrations();

struct AppliedMigration {
  int version;
  std::string name;
  std::string checksum;
  std::string applied_at;
};

enum class MigrationState {
  Applied,
  Pending,
  PendingContract,  // a contract migration not applied yet: `mailadmin migrate --contract`
  Changed,
  Unknown,
};

struct MigrationStatus {
  int version;
  std::string name;
  MigrationState state;
  std::string applied_at;  // empty when pending
};

struct MigrationPlan {
  std::vector<MigrationStatus> status;       // every known version, in order
  std::vector<const MigrationFile*> pending;  // expand migrations to apply, in order: this binary needs them
  std::vector<const MigrationFile*> pending_contract;  // contract migrations not applied yet, in order
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

enum class Contract { Leave, Apply };

// Applies every pending expand migration, and with Contract::Apply every pending contract
// migration too, in version order, each in its own transaction, holding an advisory lock.
// Before a contract migration runs, what it needs moved is moved (for 0006, the message bodies
// older replicas queued whole go into chunks). Throws SchemaError (see errors.hpp) when an
// applied migration's checksum changed or a contract migration refused (an older replica still
// runs). Returns the versions applied.
std::vector<int> migrate(pqxx::connection_base& db, Contract contract = Contract::Leave);

}  // namespace postern::schema
