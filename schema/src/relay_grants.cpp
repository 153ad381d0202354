// What the relay role may do. See relay_grants.hpp and relay_role.hpp.
#include "relay_grants.hpp"

namespace postern::schema {
namespace {

// One privilege on one table (or, for EXECUTE, one function).
struct RelayGrant {
  const char* privilege;              // SELECT, INSERT, UPDATE, DELETE or EXECUTE
  const char* object;                 // a table, or a function's name
  std::vector<const char*> columns;   // only these columns of the table; empty: all of them
  const char* arguments = nullptr;    // a function's argument types
};

// THE list of the relay's privileges: what postern's statements (schema/src/store.cpp,
// queue_store.cpp, message_chunks.cpp, migrations.cpp, share_maps.cpp, sending_limits.cpp) do to each object. A
// migration that adds a table or a function the relay uses adds its lines here in the same
// change; one that stops using something leaves the line until its contract step (older
// replicas may still need it).
// Nothing else: no audit log, no writes to users, addresses, domains or grants, no DDL.
// Rows the relay deletes from postern_queue take their recipients and chunks with them through
// ON DELETE CASCADE, which PostgreSQL runs as the tables' owner: no DELETE on those two.
const std::vector<RelayGrant>& relay_grants() {
  static const std::vector<RelayGrant> grants = {
      // AUTH and the sender check: a user's credentials, enabled flag and grants.
      {"SELECT", "emailing_users", {}},
      {"SELECT", "emailing_addresses", {}},
      {"SELECT", "emailing_domains", {}},
      {"SELECT", "emailing_users_addresses", {}},
      {"SELECT", "emailing_users_domains", {}},
      // After a login: a legacy or weaker hash replaced by Argon2id, and the login time.
      {"UPDATE", "emailing_users", {"password_hash", "updated_at", "last_login_at"}},
      // Readiness: are this binary's migrations applied?
      {"SELECT", "postern_schema_migrations", {}},
      // Intake (a message and its recipients, the size once the body is stored) and delivery
      // (claims, leases, attempts, the finished message deleted; DSNs are queued like intake).
      {"SELECT", "postern_queue", {}},
      {"INSERT", "postern_queue", {}},
      {"UPDATE", "postern_queue", {}},
      {"DELETE", "postern_queue", {}},
      {"SELECT", "postern_queue_recipients", {}},
      {"INSERT", "postern_queue_recipients", {}},
      {"UPDATE", "postern_queue_recipients", {}},
      // Shared recipients' shares (migration 0008): written at intake, updated by delivery.
      {"SELECT", "postern_queue_destinations", {}},
      {"INSERT", "postern_queue_destinations", {}},
      {"UPDATE", "postern_queue_destinations", {}},
      // Bodies: written in chunks at intake, read back at delivery.
      {"SELECT", "postern_message_chunks", {}},
      {"INSERT", "postern_message_chunks", {}},
      // A body an older replica queued whole, read in slices (migrations 0005 and 0006).
      {"EXECUTE", "postern_legacy_message_slice", {}, "text, integer, integer"},
      // Share maps (migration 0007), read whole into the relay's cache (share_maps.cpp); LISTEN
      // on their channel needs no grant.
      {"SELECT", "postern_share_maps", {}},
      {"SELECT", "postern_share_destinations", {}},
      {"SELECT", "postern_share_envelope_from", {}},
      // Sending limits (migration 0009): a user's own limits, and the counts each replica adds in
      // batches and deletes when their window has ended. LISTEN on postern_users needs no grant.
      {"SELECT", "postern_sending_limits", {}},
      {"SELECT", "postern_sending_usage", {}},
      {"INSERT", "postern_sending_usage", {}},
      {"UPDATE", "postern_sending_usage", {"messages", "recipients"}},
      {"DELETE", "postern_sending_usage", {}},
      // DKIM keys (migration 0014), read by delivery to sign; only mailadmin writes them.
      {"SELECT", "postern_dkim_keys", {}},
      // Webhook events (migration 0015): written with the queue's changes, claimed, deleted once
      // sent. Its identity column needs no grant on the sequence.
      {"SELECT", "postern_webhook_outbox", {}},
      {"INSERT", "postern_webhook_outbox", {}},
      {"UPDATE", "postern_webhook_outbox", {"attempts", "next_attempt_at", "lease_owner", "lease_until", "last_error"}},
      {"DELETE", "postern_webhook_outbox", {}},
  };
  return grants;
}

bool is_function(const RelayGrant& grant) { return grant.arguments != nullptr; }

std::string signature(const RelayGrant& grant) { return std::string(grant.object) + "(" + grant.arguments + ")"; }

// " (a, b)" for a grant on some columns, each passed through `name`; "" for a whole table.
template <class Name>
std::string column_list(const RelayGrant& grant, Name name) {
  if (grant.columns.empty()) return "";
  std::string list = " (";
  for (std::size_t i = 0; i < grant.columns.size(); ++i) list += (i ? ", " : "") + name(grant.columns[i]);
  return list + ")";
}

// "UPDATE (password_hash, updated_at, last_login_at) on emailing_users", for --status.
std::string describe(const RelayGrant& grant) {
  return grant.privilege + column_list(grant, [](const char* c) { return std::string(c); }) + " on " +
         (is_function(grant) ? signature(grant) : grant.object);
}

// The list holds constants only; the role (operator input) and every identifier are quoted.
std::string grant_statement(pqxx::transaction_base& tx, const RelayGrant& grant, const std::string& role) {
  const auto quoted = [&](const char* name) { return tx.quote_name(name); };
  const std::string object = is_function(grant)
                                 ? " ON FUNCTION " + quoted(grant.object) + "(" + grant.arguments + ")"
                                 : " ON TABLE " + quoted(grant.object);
  return "GRANT " + std::string(grant.privilege) + column_list(grant, quoted) + object + " TO " + tx.quote_name(role);
}

constexpr const char* kHoldsFunction =
    "SELECT COALESCE(has_function_privilege($1::name, to_regprocedure($2), $3), false)";
constexpr const char* kHoldsTable =
    "SELECT COALESCE(has_table_privilege($1::name, to_regclass($2), $3), false)";
// By attribute number: by name, a column that does not exist yet (an older schema) is an error.
constexpr const char* kHoldsColumn =
    "SELECT COALESCE((SELECT has_column_privilege($1::name, a.attrelid, a.attnum, $4) FROM pg_attribute a "
    "WHERE a.attrelid = to_regclass($2) AND a.attname = $3 AND NOT a.attisdropped), false)";

// NULL from the has_*_privilege functions (the object does not exist) counts as not held.
bool holds(pqxx::transaction_base& tx, const RelayGrant& grant, const std::string& role) {
  if (is_function(grant)) return tx.exec_params1(kHoldsFunction, role, signature(grant), grant.privilege)[0].as<bool>();
  if (grant.columns.empty()) return tx.exec_params1(kHoldsTable, role, grant.object, grant.privilege)[0].as<bool>();
  for (const char* column : grant.columns) {
    if (!tx.exec_params1(kHoldsColumn, role, grant.object, column, grant.privilege)[0].as<bool>()) return false;
  }
  return true;
}

bool holds_connect(pqxx::transaction_base& tx, const std::string& role) {
  return tx.exec_params1("SELECT has_database_privilege($1::name, current_database(), 'CONNECT')", role)[0]
      .as<bool>();
}

bool holds_schema_usage(pqxx::transaction_base& tx, const std::string& role) {
  return tx.exec_params1("SELECT has_schema_privilege($1::name, current_schema(), 'USAGE')", role)[0].as<bool>();
}

std::string current(pqxx::transaction_base& tx, const char* what) {
  return tx.exec(std::string("SELECT ") + what)[0][0].as<std::string>();
}

}  // namespace

void grant_relay_privileges(pqxx::transaction_base& tx, const std::string& role) {
  const std::string to = " TO " + tx.quote_name(role);
  if (!holds_connect(tx, role)) {
    tx.exec("GRANT CONNECT ON DATABASE " + tx.quote_name(current(tx, "current_database()")) + to);
  }
  if (!holds_schema_usage(tx, role)) {
    tx.exec("GRANT USAGE ON SCHEMA " + tx.quote_name(current(tx, "current_schema()")) + to);
  }
  for (const auto& grant : relay_grants()) tx.exec(grant_statement(tx, grant, role));
}

std::vector<std::string> missing_relay_privileges(pqxx::transaction_base& tx, const std::string& role) {
  std::vector<std::string> missing;
  if (!holds_connect(tx, role)) missing.push_back("CONNECT on the database");
  if (!holds_schema_usage(tx, role)) missing.push_back("USAGE on the schema");
  for (const auto& grant : relay_grants()) {
    if (!holds(tx, grant, role)) missing.push_back(describe(grant));
  }
  return missing;
}

}  // namespace postern::schema
