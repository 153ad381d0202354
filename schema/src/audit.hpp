// The audit log's one write, shared by the Store and queue administration: every change made
// with mailadmin, recorded in the change's own transaction (so both commit or neither does).
#pragma once

#include <pqxx/pqxx>

#include <string>

namespace postern::schema {

inline void record_audit(pqxx::transaction_base& tx, const std::string& actor,
                         const std::string& action, const std::string& subject,
                         const std::string& detail = "") {
  tx.exec_params("INSERT INTO postern_audit (actor, action, subject, detail) VALUES ($1, $2, $3, $4)",
                 actor, action, subject, detail);
}

}  // namespace postern::schema
