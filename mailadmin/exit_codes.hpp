// mailadmin's exit codes and the one place that turns any failure into one of them plus a
// single line for stderr. main (argv mode) and the REPL both report through describe_failure().
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace postern::mailadmin {

enum ExitCode : int {
  kOk = 0,
  kFailure = 1,          // anything not listed below
  kUsage = 2,            // unknown command, wrong arguments, bad option
  kNotFound = 3,         // user, address, domain or grant does not exist
  kAlreadyExists = 4,    // user, address, domain or grant already there
  kInvalidInput = 5,     // malformed name, address, domain, password, timestamp
  kDatabaseUnavailable = 6,
  kSchema = 7,           // schema not migrated, or a migration changed after it was applied
  kCheckDenied = 10,     // `check U A`: the user may not send as the address
};

// A command line that does not fit the command tree.
struct UsageError : std::runtime_error { using std::runtime_error::runtime_error; };

struct Failure {
  int code;
  std::string message;  // one line, without the "mailadmin: " prefix
};

// Classifies the exception being handled; call only inside a catch block.
Failure describe_failure(std::exception_ptr error);

// Collapses a possibly multi-line message (libpq's are) into one trimmed line.
std::string one_line(const std::string& text);

}  // namespace postern::mailadmin
