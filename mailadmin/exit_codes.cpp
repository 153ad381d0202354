// Maps the data model's, libpqxx's and the CLI's failures to exit codes. See exit_codes.hpp.
#include "exit_codes.hpp"

#include "postern/schema/errors.hpp"

#include <CLI/CLI.hpp>
#include <pqxx/pqxx>

namespace postern::mailadmin {

namespace schema = postern::schema;

std::string one_line(const std::string& text) {
  std::string out;
  bool pending_space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

Failure describe_failure(std::exception_ptr error) {
  const std::string not_migrated = "database schema is not migrated; run mailadmin migrate";
  try {
    std::rethrow_exception(error);
  } catch (const UsageError& e) {
    return {kUsage, one_line(e.what())};
  } catch (const CLI::ParseError& e) {
    return {kUsage, one_line(e.what())};
  } catch (const schema::NotFound& e) {
    return {kNotFound, one_line(e.what())};
  } catch (const schema::AlreadyExists& e) {
    return {kAlreadyExists, one_line(e.what())};
  } catch (const schema::InvalidInput& e) {
    return {kInvalidInput, one_line(e.what())};
  } catch (const schema::DatabaseUnavailable& e) {
    return {kDatabaseUnavailable, one_line(e.what())};
  } catch (const schema::SchemaError& e) {
    return {kSchema, one_line(e.what())};
  } catch (const pqxx::broken_connection& e) {
    return {kDatabaseUnavailable, "database unreachable: " + one_line(e.what())};
  } catch (const pqxx::in_doubt_error& e) {
    return {kDatabaseUnavailable, "database connection lost during commit: " + one_line(e.what())};
  } catch (const pqxx::undefined_table&) {
    // A table the statements need is missing: the schema is older than this binary.
    return {kSchema, not_migrated};
  } catch (const pqxx::undefined_column&) {
    return {kSchema, not_migrated};
  } catch (const pqxx::data_exception& e) {
    return {kInvalidInput, one_line(e.what())};
  } catch (const pqxx::sql_error& e) {
    return {kFailure, "database error: " + one_line(e.what())};
  } catch (const std::exception& e) {
    return {kFailure, one_line(e.what())};
  } catch (...) {
    return {kFailure, "unknown error"};
  }
}

}  // namespace postern::mailadmin
