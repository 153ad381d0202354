// Migration bookkeeping and the runner. See migrations.hpp.
#include "postern/schema/migrations.hpp"

#include "migration_lock.hpp"
#include "primary_message.hpp"
#include "postern/schema/errors.hpp"
#include "postern/schema/hex.hpp"


#include <algorithm>
#include <map>
#include <pqxx/pqxx>

namespace postern::schema {
namespace {

constexpr const char* kCreateBookkeeping = R"sql(
CREATE TABLE IF NOT EXISTS postern_schema_migrations (
  version    integer     PRIMARY KEY,
  name       text        NOT NULL,
  checksum   text        NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
))sql";

// RAISE EXCEPTION in a migration: a contract step refusing to run.
constexpr const char* kRaisedException = "P0001";

// Before 0006 drops postern_queue.message: moves the bodies older replicas queued whole during
// the rollout into chunks, one message per statement (its own transaction), so the contract
// step itself only has to check that none came since. Same slicing as 0005.
constexpr const char* kMoveOneWholeBody = R"sql(
WITH body AS (
  SELECT id, message FROM postern_queue WHERE message IS NOT NULL LIMIT 1 FOR UPDATE SKIP LOCKED
), chunks AS (
  INSERT INTO postern_message_chunks (message_id, seq, data)
  SELECT body.id, s.seq, substring(body.message FROM s.seq * 262144 + 1 FOR 262144)
    FROM body, generate_series(0, ceil(octet_length(body.message) / 262144.0)::integer - 1) AS s(seq)
)
UPDATE postern_queue q SET message = NULL FROM body WHERE q.id = body.id RETURNING q.id
)sql";

// What must be moved before a contract migration runs: a statement repeated, each run its own
// transaction, until it returns no row.
struct ContractPreparation {
  int version;
  const char* repeat_until_no_row;
};
constexpr ContractPreparation kContractPreparations[] = {{6, kMoveOneWholeBody}};

void prepare_contract(pqxx::connection_base& db, const MigrationFile& file) {
  for (const auto& preparation : kContractPreparations) {
    if (preparation.version != file.version) continue;
    for (bool moved = true; moved;) {
      pqxx::nontransaction tx{db};
      moved = !tx.exec(preparation.repeat_until_no_row).empty();
    }
  }
}

// One migration in its own transaction, recorded with its checksum; a contract migration after
// what it needs moved was moved.
void apply(pqxx::connection_base& db, const MigrationFile& file) {
  if (file.is_contract()) prepare_contract(db, file);
  pqxx::work tx{db};
  try {
    tx.exec(file.sql);
  } catch (const pqxx::sql_error& e) {
    if (!file.is_contract() || e.sqlstate() != kRaisedException) throw;
    throw SchemaError("migration " + std::to_string(file.version) + " (" + file.name +
                      ") refused: " + primary_message(e.what()));
  }
  tx.exec_params("INSERT INTO postern_schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                 file.version, file.name, migration_checksum(file.sql));
  tx.commit();
}

}  // namespace

std::string migration_checksum(const std::string& sql) { return sha256_hex(sql); }

MigrationPlan plan_migrations(const std::vector<MigrationFile>& files,
                              const std::vector<AppliedMigration>& applied) {
  std::map<int, const AppliedMigration*> by_version;
  for (const auto& a : applied) by_version[a.version] = &a;

  MigrationPlan plan;
  for (const auto& file : files) {
    auto it = by_version.find(file.version);
    if (it == by_version.end()) {
      const bool contract = file.is_contract();
      plan.status.push_back(
          {file.version, file.name, contract ? MigrationState::PendingContract : MigrationState::Pending, ""});
      (contract ? plan.pending_contract : plan.pending).push_back(&file);
      continue;
    }
    const AppliedMigration& done = *it->second;
    if (done.checksum != migration_checksum(file.sql)) {
      plan.status.push_back({file.version, file.name, MigrationState::Changed, done.applied_at});
      plan.problems.push_back("migration " + std::to_string(file.version) + " (" + file.name +
                              ") was changed after it was applied (checksum " + done.checksum +
                              " in the database)");
    } else {
      plan.status.push_back({file.version, file.name, MigrationState::Applied, done.applied_at});
    }
    by_version.erase(it);
  }
  // Versions recorded by a newer Postern: reported, not fatal, so an older replica keeps running
  // during a rolling upgrade (migrations are additive).
  for (const auto& [version, done] : by_version) {
    plan.status.push_back({version, done->name, MigrationState::Unknown, done->applied_at});
  }
  std::sort(plan.status.begin(), plan.status.end(),
            [](const MigrationStatus& a, const MigrationStatus& b) { return a.version < b.version; });
  return plan;
}

std::vector<AppliedMigration> applied_migrations(pqxx::connection_base& db) {
  pqxx::read_transaction tx{db};
  auto exists = tx.exec("SELECT to_regclass('postern_schema_migrations') IS NOT NULL");
  if (!exists[0][0].as<bool>()) return {};
  std::vector<AppliedMigration> applied;
  for (const auto& row : tx.exec(
           "SELECT version, name, checksum, to_char(applied_at AT TIME ZONE 'UTC', "
           "'YYYY-MM-DD HH24:MI:SS') FROM postern_schema_migrations ORDER BY version")) {
    applied.push_back({row[0].as<int>(), row[1].as<std::string>(), row[2].as<std::string>(),
                       row[3].as<std::string>()});
  }
  return applied;
}

MigrationPlan migration_status(pqxx::connection_base& db) {
  return plan_migrations(embedded_migrations(), applied_migrations(db));
}

std::vector<int> migrate(pqxx::connection_base& db, Contract contract) {
  const MigrationLock lock{db};
  {
    pqxx::work tx{db};
    tx.exec(kCreateBookkeeping);
    tx.commit();
  }
  // Planned after taking the lock: another process may have just applied some.
  MigrationPlan plan = migration_status(db);
  if (!plan.problems.empty()) throw SchemaError(plan.problems.front());

  std::vector<const MigrationFile*> to_apply = plan.pending;
  if (contract == Contract::Apply) {
    to_apply.insert(to_apply.end(), plan.pending_contract.begin(), plan.pending_contract.end());
    std::sort(to_apply.begin(), to_apply.end(),
              [](const MigrationFile* a, const MigrationFile* b) { return a->version < b->version; });
  }
  std::vector<int> done;
  for (const MigrationFile* file : to_apply) {
    apply(db, *file);
    done.push_back(file->version);
  }
  return done;
}

}  // namespace postern::schema
