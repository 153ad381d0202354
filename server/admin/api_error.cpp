// See api_error.hpp.
#include "server/admin/api_error.hpp"

#include "postern/schema/errors.hpp"

namespace postern::admin {

nlohmann::json error_body(const std::string& code, const std::string& message) {
  return {{"error", {{"code", code}, {"message", message}}}};
}

ApiError api_error_of(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const ApiError& e) {
    return e;
  } catch (const schema::NotFound& e) {
    return {404, "not_found", e.what()};
  } catch (const schema::AlreadyExists& e) {
    return {409, "already_exists", e.what()};
  } catch (const schema::InvalidInput& e) {
    return {400, "bad_request", e.what()};
  } catch (const schema::DatabaseUnavailable&) {
    return {503, "database_unavailable", "the database cannot be reached; try again later"};
  } catch (const schema::SchemaError& e) {
    return {503, "schema_not_ready", e.what()};
  } catch (...) {
    return {500, "internal_error", "internal error"};
  }
}

}  // namespace postern::admin
