// /api/shares: share maps, their destinations, threshold, format and envelope senders.
#include "server/admin/api_error.hpp"
#include "server/admin/json_body.hpp"
#include "postern/schema/json_views.hpp"
#include "server/admin/routes.hpp"

#include "postern/schema/admin_operations.hpp"
#include "postern/schema/errors.hpp"
#include "postern/schema/share_maps.hpp"

namespace postern::admin {
namespace {

using nlohmann::json;

std::string upstream_name(const std::string& text) {
  const auto name = schema::parse_upstream_name(text);
  if (!name) throw schema::InvalidInput(name.error);
  return *name;
}

// The map as it is after a change.
ApiReply map_reply(schema::Store& store, const std::string& recipient, unsigned status = 200) {
  const auto details = schema::find_share_map(store.connection(), recipient);
  if (!details) throw schema::NotFound("share map " + recipient + " does not exist");
  return {status, {{"share", schema::share_map_json(*details)}}};
}

ApiReply list_shares(schema::Store& store, const ApiRequest&) {
  json list = json::array();
  for (const auto& map : schema::all_share_maps(store.connection())) list.push_back(schema::share_map_json(map));
  return {200, {{"shares", list}}};
}

ApiReply add_share(schema::Store& store, const ApiRequest& request) {
  allow_fields(request.body, {"recipient"});
  const std::string recipient = schema::new_address(string_field(request.body, "recipient"));
  schema::add_share_map(store.connection(), recipient, request.actor);
  return map_reply(store, recipient, 201);
}

ApiReply show_share(schema::Store& store, const ApiRequest& request) {
  return map_reply(store, schema::new_address(request.params.at("recipient")));
}

ApiReply delete_share(schema::Store& store, const ApiRequest& request) {
  const std::string recipient = schema::new_address(request.params.at("recipient"));
  schema::delete_share_map(store.connection(), recipient, request.actor);
  return {200, {{"deleted", {{"share", recipient}}}}};
}

ApiReply add_destination(schema::Store& store, const ApiRequest& request) {
  allow_fields(request.body, {"mailbox", "upstream"});
  const std::string recipient = schema::new_address(request.params.at("recipient"));
  const schema::ShareDestination destination{schema::new_address(string_field(request.body, "mailbox")),
                                             upstream_name(string_field(request.body, "upstream"))};
  schema::add_share_destination(store.connection(), recipient, destination, request.actor);
  return map_reply(store, recipient, 201);
}

ApiReply remove_destination(schema::Store& store, const ApiRequest& request) {
  const std::string recipient = schema::new_address(request.params.at("recipient"));
  schema::remove_share_destination(store.connection(), recipient, schema::new_address(request.params.at("mailbox")),
                                   request.actor);
  return map_reply(store, recipient);
}

// {"threshold": K} or {"threshold": "all"} (n of n).
ApiReply set_threshold(schema::Store& store, const ApiRequest& request) {
  allow_fields(request.body, {"threshold"});
  const std::string recipient = schema::new_address(request.params.at("recipient"));
  const auto it = request.body.find("threshold");
  std::optional<int> threshold;
  if (it == request.body.end() || !(it->is_number_integer() || (it->is_string() && *it == "all"))) {
    throw ApiError(400, "bad_request", "field \"threshold\" must be a number from 2 to 255, or \"all\"");
  }
  if (it->is_number_integer()) {
    const auto k = it->get<std::int64_t>();
    if (k < 0 || k > 1000) throw schema::InvalidInput("invalid threshold " + std::to_string(k));
    threshold = static_cast<int>(k);
  }
  schema::set_share_threshold(store.connection(), recipient, threshold, request.actor);
  return map_reply(store, recipient);
}

ApiReply set_format(schema::Store& store, const ApiRequest& request) {
  allow_fields(request.body, {"format"});
  const std::string recipient = schema::new_address(request.params.at("recipient"));
  const auto format = schema::parse_share_format(string_field(request.body, "format"));
  if (!format) throw ApiError(400, "bad_request", "field \"format\" must be postern or privmail");
  schema::set_share_format(store.connection(), recipient, *format, request.actor);
  return map_reply(store, recipient);
}

ApiReply set_envelope_from(schema::Store& store, const ApiRequest& request) {
  allow_fields(request.body, {"address"});
  const std::string recipient = schema::new_address(request.params.at("recipient"));
  schema::set_share_envelope_from(store.connection(), recipient, upstream_name(request.params.at("upstream")),
                                  schema::new_address(string_field(request.body, "address")), request.actor);
  return map_reply(store, recipient);
}

ApiReply clear_envelope_from(schema::Store& store, const ApiRequest& request) {
  const std::string recipient = schema::new_address(request.params.at("recipient"));
  schema::set_share_envelope_from(store.connection(), recipient, upstream_name(request.params.at("upstream")),
                                  std::nullopt, request.actor);
  return map_reply(store, recipient);
}

}  // namespace

void add_share_routes(Router& router) {
  router.add("GET", "/api/shares", Role::Read, &list_shares);
  router.add("POST", "/api/shares", Role::Admin, &add_share);
  router.add("GET", "/api/shares/{recipient}", Role::Read, &show_share);
  router.add("DELETE", "/api/shares/{recipient}", Role::Admin, &delete_share);
  router.add("POST", "/api/shares/{recipient}/destinations", Role::Admin, &add_destination);
  router.add("DELETE", "/api/shares/{recipient}/destinations/{mailbox}", Role::Admin, &remove_destination);
  router.add("PUT", "/api/shares/{recipient}/threshold", Role::Admin, &set_threshold);
  router.add("PUT", "/api/shares/{recipient}/format", Role::Admin, &set_format);
  router.add("PUT", "/api/shares/{recipient}/envelope-from/{upstream}", Role::Admin, &set_envelope_from);
  router.add("DELETE", "/api/shares/{recipient}/envelope-from/{upstream}", Role::Admin, &clear_envelope_from);
}

}  // namespace postern::admin
