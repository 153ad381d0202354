// The admin API's errors: an HTTP status and a stable code, answered as
//   {"error":{"code":"not_found","message":"user bob does not exist"}}
// Codes: bad_request, invalid_json, unknown_field, unauthorized, forbidden, not_found,
// method_not_allowed, already_exists, payload_too_large, rate_limited, database_unavailable,
// schema_not_ready, internal_error.
#pragma once

#include <nlohmann/json.hpp>

#include <exception>
#include <stdexcept>
#include <string>

namespace postern::admin {

struct ApiError : std::runtime_error {
  ApiError(unsigned status, std::string code, const std::string& message)
      : std::runtime_error(message), status(status), code(std::move(code)) {}
  unsigned status;
  std::string code;
};

nlohmann::json error_body(const std::string& code, const std::string& message);

// The ApiError for an exception thrown by an operation: schema's NotFound 404, AlreadyExists 409,
// InvalidInput 400, DatabaseUnavailable 503, SchemaError 503; anything else 500 with a message
// that reveals nothing (the caller logs what() of the original).
ApiError api_error_of(std::exception_ptr error);

}  // namespace postern::admin
