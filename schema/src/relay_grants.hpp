// Internal to the schema library: what the relay role may do, object by object (the list lives
// in relay_grants.cpp), how to grant it, and how to see what a role lacks. See relay_role.hpp.
#pragma once

#include <pqxx/pqxx>

#include <string>
#include <vector>

namespace postern::schema {

// Grants every privilege of the list to `role`, plus CONNECT on the database and USAGE on the
// current schema where the role lacks them (PUBLIC holds both by default, and granting them needs
// the database's or the schema's owner). Idempotent.
void grant_relay_privileges(pqxx::transaction_base& tx, const std::string& role);

// The privileges of the same set `role` does not hold, each as "SELECT on emailing_users". An
// object that does not exist yet (an unmigrated database) counts as missing. `role` must exist.
std::vector<std::string> missing_relay_privileges(pqxx::transaction_base& tx, const std::string& role);

}  // namespace postern::schema
