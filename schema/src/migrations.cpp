// Migration bookkeeping and the runner. See migrations.hpp.
#include "postern/schema/migrations.hpp"

#include "postern/schema/errors.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <pqxx/pqxx>

namespace postern::schema {
namespace {

// Any constant works as long as every Postern binary uses the same one ("postern" in ASCII).
constexpr std::int64_t kMigrationLockKey = 0x706f737465726e;

constexpr const char* kCreateBookkeeping = R"sql(
CREATE TABLE IF NOT EXISTS postern_schema_migrations (
  version    integer     PRIMARY KEY,
  name       text        NOT NULL,
  checksum   text        NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
))sql";

}  // namespace

std::string migration_checksum(const std::string& sql) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(sql.data(), sql.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

MigrationPlan plan_migrations(const std::vector<MigrationFile>& files,
                              const std::vector<AppliedMigration>& applied) {
  std::map<int, const AppliedMigration*> by_version;
  for (const auto& a : applied) by_version[a.version] = &a;

  MigrationPlan plan;
  for (const auto& file : files) {
    auto it = by_version.find(file.version);
    if (it == by_version.end()) {
      plan.status.push_back({file.version, file.name, MigrationState::Pending, ""});
      plan.pending.push_back(&file);
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

std::vector<int> migrate(pqxx::connection_base& db) {
  // Session-level lock: held across the per-migration transactions, released on every exit.
  {
    pqxx::nontransaction tx{db};
    tx.exec_params("SELECT pg_advisory_lock($1)", kMigrationLockKey);
  }
  struct Unlock {
    pqxx::connection_base& db;
    ~Unlock() {
      try {
        pqxx::nontransaction tx{db};
        tx.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
      } catch (...) {
        // The connection is gone, and with it the lock.
      }
    }
  } unlock{db};

  {
    pqxx::work tx{db};
    tx.exec(kCreateBookkeeping);
    tx.commit();
  }
  // Planned after taking the lock: another process may have just applied some.
  MigrationPlan plan = migration_status(db);
  if (!plan.problems.empty()) throw SchemaError(plan.problems.front());

  std::vector<int> done;
  for (const MigrationFile* file : plan.pending) {
    pqxx::work tx{db};
    tx.exec(file->sql);
    tx.exec_params("INSERT INTO postern_schema_migrations (version, name, checksum) "
                   "VALUES ($1, $2, $3)",
                   file->version, file->name, migration_checksum(file->sql));
    tx.commit();
    done.push_back(file->version);
  }
  return done;
}

}  // namespace postern::schema
