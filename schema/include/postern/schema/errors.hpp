// The failures the data model reports. Each maps to one mailadmin exit code and one SMTP reply
// class; the message is a single line fit for an operator's terminal.
#pragma once

#include <stdexcept>
#include <string>

namespace postern::schema {

// A named user, address, domain or grant does not exist.
struct NotFound : std::runtime_error { using std::runtime_error::runtime_error; };
// Creating something that is already there.
struct AlreadyExists : std::runtime_error { using std::runtime_error::runtime_error; };
// Malformed input: an address, a domain, a user name, a password.
struct InvalidInput : std::runtime_error { using std::runtime_error::runtime_error; };
// PostgreSQL cannot be reached or the connection broke: retry later, never assume an answer.
struct DatabaseUnavailable : std::runtime_error { using std::runtime_error::runtime_error; };
// The database's schema is not what this binary expects (changed or missing migrations).
struct SchemaError : std::runtime_error { using std::runtime_error::runtime_error; };

}  // namespace postern::schema
