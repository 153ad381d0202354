// Internal to the schema library: the session-level advisory lock every schema change holds, so
// that `mailadmin migrate` runs (a Kubernetes Job, an operator by hand) and relay replicas
// starting together never interleave. Held across the caller's transactions, released on every
// exit.
#pragma once

#include <pqxx/pqxx>

#include <cstdint>

namespace postern::schema {

class MigrationLock {
 public:
  explicit MigrationLock(pqxx::connection_base& db) : db_(db) {
    pqxx::nontransaction tx{db_};
    tx.exec_params("SELECT pg_advisory_lock($1)", kKey);
  }
  ~MigrationLock() {
    try {
      pqxx::nontransaction tx{db_};
      tx.exec_params("SELECT pg_advisory_unlock($1)", kKey);
    } catch (...) {
      // The connection is gone, and with it the lock.
    }
  }
  MigrationLock(const MigrationLock&) = delete;
  MigrationLock& operator=(const MigrationLock&) = delete;

 private:
  // Any constant works as long as every Postern binary uses the same one ("postern" in ASCII).
  static constexpr std::int64_t kKey = 0x706f737465726e;
  pqxx::connection_base& db_;
};

}  // namespace postern::schema
