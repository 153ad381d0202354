// Internal to the schema library: a role password's SCRAM-SHA-256 secret, as PostgreSQL stores
// it ("SCRAM-SHA-256$4096:salt$StoredKey:ServerKey"), computed on this side by libpq, as psql's
// \password does. CREATE ROLE and ALTER ROLE then carry the secret, never the password: a
// statement may end up in the server's log, and the secret does not let anyone log in.
#pragma once

#include <string>

namespace postern::schema {

// libpq needs a connection of its own (libpqxx 6.4 does not hand out its PGconn): the one
// database_url names. Throws DatabaseUnavailable when it cannot connect, InvalidInput when
// libpq refuses the password.
std::string scram_secret(const std::string& database_url, const std::string& role,
                         const std::string& password);

}  // namespace postern::schema
