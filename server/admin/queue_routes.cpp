// /api/queue: the mail queue of every replica. Reading needs read; retry, hold, release and
// delete need operate.
#include "server/admin/api_error.hpp"
#include "server/admin/json_body.hpp"
#include "postern/schema/json_views.hpp"
#include "server/admin/routes.hpp"

#include "postern/schema/admin_operations.hpp"
#include "postern/schema/queue_admin.hpp"

#include <algorithm>

namespace postern::admin {
namespace {

using nlohmann::json;

std::string folded(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  return text;
}

// held; delivering (a worker holds its lease); waiting (neither).
std::string state_of(const schema::QueueEntry& entry) {
  if (entry.held) return "held";
  if (entry.leased) return "delivering";
  return "waiting";
}

// ?state=held|delivering|waiting, ?sender=ADDRESS, ?recipient=ADDRESS, ?user=NAME (the user who
// submitted it), ASCII case ignored.
ApiReply list_queue(schema::Store& store, const ApiRequest& request) {
  for (const auto& [key, value] : request.query) {
    if (key != "state" && key != "sender" && key != "recipient" && key != "user") {
      throw ApiError(400, "bad_request", "unknown query parameter \"" + key + "\" (state, sender, recipient, user)");
    }
  }
  const auto wanted = [&](const char* key) -> std::optional<std::string> {
    const auto it = request.query.find(key);
    if (it == request.query.end()) return std::nullopt;
    return folded(it->second);
  };
  const auto state = wanted("state");
  if (state && *state != "held" && *state != "delivering" && *state != "waiting") {
    throw ApiError(400, "bad_request", "state must be held, delivering or waiting");
  }
  const auto sender = wanted("sender");
  const auto recipient = wanted("recipient");
  const auto user = wanted("user");
  json list = json::array();
  for (const auto& entry : schema::list_queue(store.connection())) {
    if (state && state_of(entry) != *state) continue;
    if (sender && folded(entry.sender) != *sender) continue;
    if (user && folded(entry.auth_user) != *user) continue;
    if (recipient && std::none_of(entry.recipients.begin(), entry.recipients.end(),
                                  [&](const auto& r) { return folded(r.address) == *recipient; })) {
      continue;
    }
    list.push_back(schema::queue_entry_json(entry));
  }
  return {200, {{"queue", list}}};
}

ApiReply show_message(schema::Store& store, const ApiRequest& request) {
  return {200, {{"message", schema::queued_message_json(schema::queued_message(store, request.params.at("id"), request.settings.seal_keys))}}};
}

ApiReply retry(schema::Store& store, const ApiRequest& request) {
  allow_fields(request.body, {});
  return {200, {{"retried", schema::retry(store.connection(), request.params.at("id"), request.actor)}}};
}

ApiReply retry_all(schema::Store& store, const ApiRequest& request) {
  allow_fields(request.body, {});
  return {200, {{"retried", schema::retry_all(store.connection(), request.actor)}}};
}

ApiReply hold(schema::Store& store, const ApiRequest& request) {
  allow_fields(request.body, {});
  return {200, {{"held", schema::hold(store.connection(), request.params.at("id"), request.actor) ? 1 : 0}}};
}

ApiReply release(schema::Store& store, const ApiRequest& request) {
  allow_fields(request.body, {});
  return {200, {{"released", schema::release(store.connection(), request.params.at("id"), request.actor) ? 1 : 0}}};
}

ApiReply delete_message(schema::Store& store, const ApiRequest& request) {
  schema::delete_queued(store.connection(), request.params.at("id"), request.actor);
  return {200, {{"deleted", 1}}};
}

}  // namespace

void add_queue_routes(Router& router) {
  router.add("GET", "/api/queue", Role::Read, &list_queue);
  router.add("POST", "/api/queue/retry", Role::Operate, &retry_all);
  router.add("GET", "/api/queue/{id}", Role::Read, &show_message);
  router.add("DELETE", "/api/queue/{id}", Role::Operate, &delete_message);
  router.add("POST", "/api/queue/{id}/retry", Role::Operate, &retry);
  router.add("POST", "/api/queue/{id}/hold", Role::Operate, &hold);
  router.add("POST", "/api/queue/{id}/release", Role::Operate, &release);
}

}  // namespace postern::admin
