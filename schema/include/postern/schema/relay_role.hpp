// The relay's own PostgreSQL role. postern connects as it, never as the owner of the schema:
// the relay reads users and grants, writes the queue, and may do nothing else (no DDL, no user
// or grant changes, no audit log). `mailadmin migrate`, run by the owner, sets it up after the
// migrations: it creates the role when it is missing and the owner may create roles, sets its
// password from a file, and grants it what the relay does with each table. The grants are one
// list, kRelayGrants in schema/src/relay_grants.cpp; a migration that adds a table the relay uses
// adds its lines there (migrations/README.md).
//
// The grants only ever add: during a rolling update older replicas run as the same role, so a
// privilege the new release no longer needs is revoked by a contract step, never here.
#pragma once

#include "postern/schema/errors.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pqxx { class connection_base; }

namespace postern::schema {

inline constexpr const char* kDefaultRelayRole = "postern_relay";

// The relay role cannot be set up by the connected user: the role is missing and it may not
// create roles, or it may not set the role's password. The message names the role and what a
// superuser runs; the migrations themselves were applied.
struct RelayRoleError : SchemaError { using SchemaError::SchemaError; };

struct RelayRoleRequest {
  std::string name = kDefaultRelayRole;
  // The clear password, from a file. Only its SCRAM-SHA-256 secret, computed by libpq on this
  // side, reaches the server, so no statement (nor a server log) ever holds the password.
  // Without one, a new role is created LOGIN without a password: it can log in only where
  // pg_hba.conf trusts it (peer, cert, trust) until a password is set.
  std::optional<std::string> password;
};

struct RelayRoleOutcome {
  std::string name;
  bool created = false;
  bool password_set = false;
};

// Checks a role name before anything connects: InvalidInput when empty, longer than
// PostgreSQL's 63 bytes, or holding a NUL.
void check_relay_role_name(const std::string& name);

// Creates the role (when missing and allowed), sets its password (when given), and grants it
// every privilege of kRelayGrants, plus CONNECT on the database and USAGE on the schema where
// the relay lacks them; idempotent. Call after migrate(): the tables must exist. database_url
// is the URL `db` was opened with (libpq computes the SCRAM secret on a connection of its own).
// Throws RelayRoleError (see above), InvalidInput when the role is the connected user itself.
RelayRoleOutcome set_up_relay_role(pqxx::connection_base& db, const std::string& database_url,
                                   const RelayRoleRequest& request);

struct RelayRoleStatus {
  std::string name;
  bool exists = false;
  bool can_login = false;
  bool superuser = false;
  std::vector<std::string> missing;  // "SELECT on emailing_users", one per privilege it lacks
  bool ready() const { return exists && can_login && !superuser && missing.empty(); }
};

// What the role is and lacks, for `mailadmin migrate --status`. A table that does not exist yet
// counts as a missing grant.
RelayRoleStatus relay_role_status(pqxx::connection_base& db, const std::string& name);

}  // namespace postern::schema
