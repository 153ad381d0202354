// Reading a request's JSON body strictly: an object, only the fields a route knows (any other
// is refused as unknown_field, naming it), each of the type it must have.
#pragma once

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace postern::admin {

// The body as a JSON object; an empty body is an empty object. ApiError invalid_json (400)
// when it does not parse, bad_request when it is not an object.
nlohmann::json parse_body(std::string_view text);

// ApiError unknown_field for the first field of `body` not in `known`.
void allow_fields(const nlohmann::json& body, std::initializer_list<std::string_view> known);

// A string field: required (bad_request when missing or not a string) or optional.
std::string string_field(const nlohmann::json& body, const std::string& name);
std::optional<std::string> optional_string_field(const nlohmann::json& body, const std::string& name);

}  // namespace postern::admin
