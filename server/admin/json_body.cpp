// See json_body.hpp.
#include "server/admin/json_body.hpp"

#include "server/admin/api_error.hpp"

#include <algorithm>

namespace postern::admin {

nlohmann::json parse_body(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return nlohmann::json::object();
  nlohmann::json body = nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded()) throw ApiError(400, "invalid_json", "the request body is not valid JSON");
  if (!body.is_object()) throw ApiError(400, "bad_request", "the request body must be a JSON object");
  return body;
}

void allow_fields(const nlohmann::json& body, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : body.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      throw ApiError(400, "unknown_field", "unknown field \"" + key + "\"");
    }
  }
}

std::optional<std::string> optional_string_field(const nlohmann::json& body, const std::string& name) {
  const auto it = body.find(name);
  if (it == body.end()) return std::nullopt;
  if (!it->is_string()) throw ApiError(400, "bad_request", "field \"" + name + "\" must be a string");
  return it->get<std::string>();
}

std::string string_field(const nlohmann::json& body, const std::string& name) {
  auto value = optional_string_field(body, name);
  if (!value) throw ApiError(400, "bad_request", "field \"" + name + "\" is required");
  return std::move(*value);
}

}  // namespace postern::admin
