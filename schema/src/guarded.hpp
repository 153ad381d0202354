// Internal to the schema library: runs one unit of database work and turns libpqxx's failures
// into the data model's (errors.hpp), so callers see DatabaseUnavailable, never a pqxx type.
#pragma once

#include "postern/schema/errors.hpp"

#include <pqxx/pqxx>

#include <string>

namespace postern::schema {

template <class F>
auto guarded(F&& work) -> decltype(work()) {
  try {
    return work();
  } catch (const pqxx::broken_connection& e) {
    throw DatabaseUnavailable(std::string("database unreachable: ") + e.what());
  } catch (const pqxx::in_doubt_error& e) {
    throw DatabaseUnavailable(std::string("database connection lost during commit: ") + e.what());
  } catch (const pqxx::data_exception& e) {
    throw InvalidInput(e.what());
  }
}

}  // namespace postern::schema
