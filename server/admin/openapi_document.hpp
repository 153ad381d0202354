// The admin API's OpenAPI 3 document: server/admin/openapi.json, embedded at build time and
// served as it is at GET /api/openapi.json.
#pragma once

#include <string_view>

namespace postern::admin {

extern const std::string_view kOpenApiDocument;

}  // namespace postern::admin
