// /api/webhooks: the webhook outbox (schema/webhook_outbox.hpp) — what waits per endpoint, and a
// retry that makes it due now.
#include "server/admin/json_body.hpp"
#include "server/admin/routes.hpp"

#include "postern/schema/json_views.hpp"
#include "postern/schema/store.hpp"
#include "postern/schema/webhook_outbox.hpp"

namespace postern::admin {
namespace {

ApiReply backlog(schema::Store& store, const ApiRequest&) {
  return {200, schema::webhook_backlog_json(schema::webhook_backlog(store.connection()))};
}

ApiReply retry(schema::Store& store, const ApiRequest& request) {
  allow_fields(request.body, {"endpoint"});
  const std::string endpoint = request.body.contains("endpoint") ? string_field(request.body, "endpoint") : "";
  return {200, {{"retried", schema::retry_webhook_events_now(store.connection(), endpoint, request.actor)}}};
}

}  // namespace

void add_webhook_routes(Router& router) {
  router.add("GET", "/api/webhooks", Role::Read, &backlog);
  router.add("POST", "/api/webhooks/retry", Role::Operate, &retry);
}

}  // namespace postern::admin
