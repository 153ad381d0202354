// /api/dkim: DKIM signing keys (schema/dkim_keys.hpp), sealed with the relay's seal keys.
#include "server/admin/json_body.hpp"
#include "server/admin/routes.hpp"

#include "postern/schema/dkim_keys.hpp"
#include "postern/schema/json_views.hpp"
#include "postern/schema/store.hpp"

namespace postern::admin {
namespace {

using nlohmann::json;

json keys_json(const std::vector<schema::DkimKey>& keys) {
  json list = json::array();
  for (const auto& key : keys) list.push_back(schema::dkim_key_json(key));
  return list;
}

ApiReply list_keys(schema::Store& store, const ApiRequest&) {
  return {200, {{"dkim_keys", keys_json(schema::dkim_keys(store.connection()))}}};
}

ApiReply add_key(schema::Store& store, const ApiRequest& request) {
  allow_fields(request.body, {"domain", "selector", "algorithm"});
  const std::string algorithm = request.body.contains("algorithm") ? string_field(request.body, "algorithm") : "rsa2048";
  const schema::DkimKey key =
      schema::add_dkim_key(store.connection(), string_field(request.body, "domain"),
                           string_field(request.body, "selector"), algorithm, request.settings.seal_keys, request.actor);
  return {201, {{"dkim_key", schema::dkim_key_json(key)}}};
}

ApiReply show_domain_keys(schema::Store& store, const ApiRequest& request) {
  return {200, {{"dkim_keys", keys_json(schema::dkim_keys_of(store.connection(), request.params.at("domain")))}}};
}

ApiReply delete_key(schema::Store& store, const ApiRequest& request) {
  const std::string& domain = request.params.at("domain");
  const std::string& selector = request.params.at("selector");
  schema::delete_dkim_key(store.connection(), domain, selector, request.actor);
  return {200, {{"deleted", {{"domain", domain}, {"selector", selector}}}}};
}

}  // namespace

void add_dkim_routes(Router& router) {
  router.add("GET", "/api/dkim", Role::Read, &list_keys);
  router.add("POST", "/api/dkim", Role::Admin, &add_key);
  router.add("GET", "/api/dkim/{domain}", Role::Read, &show_domain_keys);
  router.add("DELETE", "/api/dkim/{domain}/{selector}", Role::Admin, &delete_key);
}

}  // namespace postern::admin
