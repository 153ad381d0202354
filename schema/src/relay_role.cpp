// The relay role: created, its password set, granted what the relay needs. See relay_role.hpp.
#include "postern/schema/relay_role.hpp"

#include "guarded.hpp"
#include "migration_lock.hpp"
#include "primary_message.hpp"
#include "relay_grants.hpp"
#include "scram_secret.hpp"

#include <pqxx/pqxx>

namespace postern::schema {
namespace {

// PostgreSQL's NAMEDATALEN - 1: it would cut a longer name, with only a NOTICE.
constexpr std::size_t kMaxRoleNameBytes = 63;

// PostgreSQL's code for "role ... already exists".
constexpr const char* kDuplicateObject = "42710";

struct Role {
  bool exists = false;
  bool can_login = false;
  bool superuser = false;
};

Role find_role(pqxx::transaction_base& tx, const std::string& name) {
  const auto rows = tx.exec_params("SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = $1", name);
  if (rows.empty()) return {};
  return {true, rows[0][0].as<bool>(), rows[0][1].as<bool>()};
}

enum class RoleChange { Done, NotAllowed, AlreadyExists };

// One CREATE or ALTER ROLE in a savepoint, so that a refusal leaves the transaction usable.
// AlreadyExists: another `mailadmin migrate` (of another database: roles belong to the cluster)
// created it meanwhile.
RoleChange change_role(pqxx::work& tx, const std::string& sql) {
  try {
    pqxx::subtransaction savepoint{tx, "relay_role"};
    savepoint.exec(sql);
    savepoint.commit();
    return RoleChange::Done;
  } catch (const pqxx::insufficient_privilege&) {
    return RoleChange::NotAllowed;
  } catch (const pqxx::unique_violation&) {
    return RoleChange::AlreadyExists;
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == kDuplicateObject) return RoleChange::AlreadyExists;
    throw;
  }
}

}  // namespace

void check_relay_role_name(const std::string& name) {
  if (name.empty()) throw InvalidInput("the relay role's name is empty");
  if (name.size() > kMaxRoleNameBytes) {
    throw InvalidInput("the relay role's name is longer than " + std::to_string(kMaxRoleNameBytes) +
                       " bytes");
  }
  if (name.find('\0') != std::string::npos) throw InvalidInput("the relay role's name holds a NUL byte");
}

RelayRoleOutcome set_up_relay_role(pqxx::connection_base& db, const std::string& database_url,
                                   const RelayRoleRequest& request) {
  check_relay_role_name(request.name);
  return guarded([&] {
    const std::string& name = request.name;
    std::optional<std::string> secret;
    if (request.password) secret = scram_secret(database_url, name, *request.password);

    // Two runs granting on the same table at once could fail ("tuple concurrently updated").
    const MigrationLock lock{db};
    pqxx::work tx{db};
    const auto me = tx.exec1("SELECT current_user")[0].as<std::string>();
    if (me == name) {
      throw InvalidInput("the relay role must be a role of its own, not " + me +
                         ", the user mailadmin connects as");
    }
    const std::string role = tx.quote_name(name);
    RelayRoleOutcome outcome{name};
    if (!find_role(tx, name).exists) {
      // LOGIN only: no right beyond what kRelayGrants gives it.
      const std::string password = secret ? " PASSWORD " + tx.quote(*secret) : "";
      const RoleChange created = change_role(
          tx, "CREATE ROLE " + role + " WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS" +
                  password);
      if (created == RoleChange::NotAllowed) {
        throw RelayRoleError("role " + name + " does not exist, and " + me +
                             " may not create roles: have a superuser run CREATE ROLE " + role +
                             " LOGIN and set its password (psql: \\password " + role +
                             "), then run mailadmin migrate again to grant it what the relay needs "
                             "(the migrations are applied)");
      }
      outcome.created = created == RoleChange::Done;
      outcome.password_set = outcome.created && secret.has_value();
    }
    std::string refused;
    if (secret && !outcome.created) {
      if (change_role(tx, "ALTER ROLE " + role + " WITH LOGIN PASSWORD " + tx.quote(*secret)) ==
          RoleChange::NotAllowed) {
        refused = me + " may not set the password of role " + name +
                  ": have a superuser set it (psql: \\password " + role +
                  ") or leave the password out; the migrations are applied and the role holds what the relay needs";
      } else {
        outcome.password_set = true;
      }
    }
    try {
      grant_relay_privileges(tx, name);
    } catch (const pqxx::insufficient_privilege& e) {
      throw RelayRoleError(me + " cannot grant role " + name + " what the relay needs (" +
                           primary_message(e.what()) + "): run mailadmin migrate as the owner of the "
                           "tables (the migrations are applied)");
    }
    tx.commit();
    if (!refused.empty()) throw RelayRoleError(refused);
    return outcome;
  });
}

RelayRoleStatus relay_role_status(pqxx::connection_base& db, const std::string& name) {
  check_relay_role_name(name);
  return guarded([&] {
    pqxx::read_transaction tx{db};
    const Role role = find_role(tx, name);
    RelayRoleStatus status{name, role.exists, role.can_login, role.superuser, {}};
    if (role.exists) status.missing = missing_relay_privileges(tx, name);
    return status;
  });
}

}  // namespace postern::schema
