// /api/audit: who changed what, when (UTC), oldest first; ?since=TIMESTAMP.
#include "postern/schema/json_views.hpp"
#include "server/admin/routes.hpp"

#include "postern/schema/errors.hpp"

namespace postern::admin {
namespace {

ApiReply list_audit(schema::Store& store, const ApiRequest& request) {
  const auto since = request.query.find("since");
  const std::string from = since == request.query.end() ? "" : since->second;
  try {
    return {200, {{"audit", schema::audit_json(store.audit(from))}}};
  } catch (const schema::InvalidInput&) {
    throw schema::InvalidInput("invalid timestamp \"" + from + "\" for since");
  }
}

}  // namespace

void add_audit_routes(Router& router) { router.add("GET", "/api/audit", Role::Read, &list_audit); }

}  // namespace postern::admin
