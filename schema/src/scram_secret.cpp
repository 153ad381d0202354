// See scram_secret.hpp.
#include "scram_secret.hpp"

#include "postern/schema/errors.hpp"
#include "postern/schema/store.hpp"

#include <libpq-fe.h>

#include <memory>

namespace postern::schema {

std::string scram_secret(const std::string& database_url, const std::string& role,
                         const std::string& password) {
  const std::unique_ptr<PGconn, decltype(&PQfinish)> conn{
      PQconnectdb(with_connection_defaults(database_url).c_str()), &PQfinish};
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    throw DatabaseUnavailable(std::string("database unreachable: ") +
                              (conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  // The algorithm named: libpq asks the server nothing, and uses the server's iteration count.
  char* secret = PQencryptPasswordConn(conn.get(), password.c_str(), role.c_str(), "scram-sha-256");
  if (secret == nullptr) {
    throw InvalidInput(std::string("cannot compute the password's SCRAM secret: ") +
                       PQerrorMessage(conn.get()));
  }
  std::string out{secret};
  PQfreemem(secret);
  return out;
}

}  // namespace postern::schema
