// /api/users: users, their passwords, state and sending limits, and the sender check.
#include "server/admin/api_error.hpp"
#include "server/admin/json_body.hpp"
#include "postern/schema/json_views.hpp"
#include "server/admin/routes.hpp"

#include "postern/schema/admin_operations.hpp"

namespace postern::admin {
namespace {

using nlohmann::json;

ApiReply list_users(schema::Store& store, const ApiRequest&) {
  json users = json::array();
  for (const auto& user : store.list_users()) users.push_back({{"name", user.name}, {"enabled", user.enabled}});
  return {200, {{"users", users}}};
}

ApiReply add_user(schema::Store& store, const ApiRequest& request) {
  allow_fields(request.body, {"name", "password"});
  const std::string name = string_field(request.body, "name");
  const std::string password = string_field(request.body, "password");
  const std::string user = schema::add_user(store, name, password, request.settings.argon2, request.actor);
  return {201, {{"user", schema::user_json(schema::user_report(store, user))}}};
}

ApiReply show_user(schema::Store& store, const ApiRequest& request) {
  return {200, {{"user", schema::user_json(schema::user_report(store, request.params.at("name")))}}};
}

ApiReply delete_user(schema::Store& store, const ApiRequest& request) {
  return {200, {{"deleted", {{"user", schema::delete_user(store, request.params.at("name"), request.actor)}}}}};
}

ApiReply set_password(schema::Store& store, const ApiRequest& request) {
  allow_fields(request.body, {"password"});
  const std::string password = string_field(request.body, "password");
  const std::string user =
      schema::set_user_password(store, request.params.at("name"), password, request.settings.argon2, request.actor);
  return {200, {{"user", {{"name", user}, {"password_changed", true}}}}};
}

ApiReply set_enabled(schema::Store& store, const ApiRequest& request, bool enabled) {
  allow_fields(request.body, {});
  const std::string user = schema::set_user_enabled(store, request.params.at("name"), enabled, request.actor);
  return {200, {{"user", {{"name", user}, {"enabled", enabled}}}}};
}

ApiReply disable_user(schema::Store& store, const ApiRequest& request) { return set_enabled(store, request, false); }
ApiReply enable_user(schema::Store& store, const ApiRequest& request) { return set_enabled(store, request, true); }

ApiReply show_limits(schema::Store& store, const ApiRequest& request) {
  const std::string& name = request.params.at("name");
  const auto limits = schema::user_limits(store, name);
  return {200, {{"user", {{"name", schema::existing_user(name).key}, {"limits", schema::limits_json(limits)}}}}};
}

// A number from 1 to kMaxLimit, "unlimited" or "default" (the relay's postern.yaml).
schema::LimitSetting limit_setting(const json& value, const std::string& field) {
  using Kind = schema::LimitSetting::Kind;
  if (value.is_string() && value == "default") return {Kind::Default, 0};
  if (value.is_string() && value == "unlimited") return {Kind::Unlimited, 0};
  if (value.is_number_integer()) {
    const auto count = value.get<std::int64_t>();
    if (count >= 1 && count <= schema::kMaxLimit) return {Kind::AtMost, count};
  }
  throw ApiError(400, "bad_request", "field \"" + field + "\" must be a number from 1 to " +
                                         std::to_string(schema::kMaxLimit) + ", \"unlimited\" or \"default\"");
}

// Only the limits named change.
ApiReply change_limits(schema::Store& store, const ApiRequest& request) {
  allow_fields(request.body, {"messages_per_hour", "messages_per_day", "recipients_per_hour", "recipients_per_day"});
  schema::LimitChanges changes;
  const std::pair<const char*, std::optional<schema::LimitSetting>*> fields[] = {
      {"messages_per_hour", &changes.messages_per_hour},
      {"messages_per_day", &changes.messages_per_day},
      {"recipients_per_hour", &changes.recipients_per_hour},
      {"recipients_per_day", &changes.recipients_per_day}};
  for (const auto& [field, target] : fields) {
    if (request.body.contains(field)) *target = limit_setting(request.body.at(field), field);
  }
  if (changes.empty()) throw ApiError(400, "bad_request", "name at least one limit to change");
  const std::string& name = request.params.at("name");
  const auto limits = schema::change_user_limits(store, name, changes, request.actor);
  return {200, {{"user", {{"name", schema::existing_user(name).key}, {"limits", schema::limits_json(limits)}}}}};
}

ApiReply reset_limits(schema::Store& store, const ApiRequest& request) {
  schema::LimitChanges changes;
  changes.reset = true;
  const std::string& name = request.params.at("name");
  const auto limits = schema::change_user_limits(store, name, changes, request.actor);
  return {200, {{"user", {{"name", schema::existing_user(name).key}, {"limits", schema::limits_json(limits)}}}}};
}

ApiReply check(schema::Store& store, const ApiRequest& request) {
  const auto address = request.query.find("address");
  if (address == request.query.end()) throw ApiError(400, "bad_request", "the query parameter address is required");
  const auto result = schema::check_sender(store, request.params.at("name"), address->second, request.settings.policy);
  return {200, {{"check", schema::check_json(result)}}};
}

}  // namespace

void add_user_routes(Router& router) {
  router.add("GET", "/api/users", Role::Read, &list_users);
  router.add("POST", "/api/users", Role::Admin, &add_user);
  router.add("GET", "/api/users/{name}", Role::Read, &show_user);
  router.add("DELETE", "/api/users/{name}", Role::Admin, &delete_user);
  router.add("PUT", "/api/users/{name}/password", Role::Admin, &set_password);
  router.add("POST", "/api/users/{name}/disable", Role::Admin, &disable_user);
  router.add("POST", "/api/users/{name}/enable", Role::Admin, &enable_user);
  router.add("GET", "/api/users/{name}/limits", Role::Read, &show_limits);
  router.add("PATCH", "/api/users/{name}/limits", Role::Admin, &change_limits);
  router.add("DELETE", "/api/users/{name}/limits", Role::Admin, &reset_limits);
  router.add("GET", "/api/users/{name}/check", Role::Read, &check);
}

}  // namespace postern::admin
