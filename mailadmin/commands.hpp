// The mailadmin command tree (CLI11) and its handlers. One tree serves both argv and each REPL
// line: run_command_line() builds a fresh CLI::App for the words it is given, parses them, and
// runs the one command they name against the Session's store.
#pragma once

#include "postern/schema/password.hpp"
#include "postern/schema/store.hpp"

#include <memory>
#include <string>
#include <vector>

namespace postern::mailadmin {

// The global options: from the environment, then argv, then (in the REPL) each line.
struct Settings {
  std::string db_url;          // --db; else $DATABASE_URL; else "" (libpq's PG* variables)
  bool db_url_given = false;
  std::string actor;           // --actor; else the OS user
  schema::Argon2Params argon2; // --argon2-memory-kib/-iterations, $POSTERN_ARGON2_*
  bool json = false;           // --json
  bool verbose = false;        // -v: mutating commands confirm what they did
  std::vector<std::string> seal_key_files;  // --seal-key-file...; else $POSTERN_SEAL_KEY_FILES
};

// Defaults from the environment. Throws UsageError for a malformed POSTERN_ARGON2_* value.
Settings default_settings();

// State that outlives one command line: the global defaults and one open Store, connected on
// first use and checked to be migrated.
class Session {
 public:
  explicit Session(Settings defaults);
  ~Session();

  const Settings& defaults() const { return defaults_; }
  void set_defaults(Settings defaults) { defaults_ = std::move(defaults); }

  // The store for this URL, (re)connecting when needed. Throws DatabaseUnavailable, or
  // SchemaError when the database is not (or differently) migrated.
  schema::Store& store(const std::string& url);
  // After `migrate`, or when the connection broke: connect and check afresh next time.
  void forget_store();

  // Set when a command consumed a password line of input (the REPL needs to know).
  bool password_read = false;

 private:
  Settings defaults_;
  std::unique_ptr<schema::Store> store_;
  std::string store_url_;
};

struct LineResult {
  bool had_command = false;  // false: only global options (argv: start the REPL)
  int exit_code = 0;         // 0, or kCheckDenied
  Settings settings;         // the settings this line ended up with
};

// Parses and runs one command line (without the program name). Failures throw; classify them
// with describe_failure() (exit_codes.hpp).
LineResult run_command_line(const std::vector<std::string>& words, Session& session);

// The help text printed by `help`, `-h` and `--help`.
const char* help_text();

}  // namespace postern::mailadmin
