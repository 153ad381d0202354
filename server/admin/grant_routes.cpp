// /api/addresses, /api/domains, and /api/users/{name}/grants/{addresses|domains}/{target}.
#include "server/admin/json_body.hpp"
#include "server/admin/routes.hpp"

#include "postern/schema/admin_operations.hpp"

namespace postern::admin {
namespace {

using nlohmann::json;
using schema::GrantTarget;

ApiReply list_addresses(schema::Store& store, const ApiRequest&) { return {200, {{"addresses", store.list_addresses()}}}; }
ApiReply list_domains(schema::Store& store, const ApiRequest&) { return {200, {{"domains", store.list_domains()}}}; }

ApiReply add_address(schema::Store& store, const ApiRequest& request) {
  allow_fields(request.body, {"address"});
  const std::string address = schema::add_address(store, string_field(request.body, "address"), request.actor);
  return {201, {{"address", {{"address", address}, {"users", json::array()}}}}};
}

ApiReply add_domain(schema::Store& store, const ApiRequest& request) {
  allow_fields(request.body, {"domain"});
  const std::string domain = schema::add_domain(store, string_field(request.body, "domain"), request.actor);
  return {201, {{"domain", {{"domain", domain}, {"users", json::array()}}}}};
}

ApiReply show_address(schema::Store& store, const ApiRequest& request) {
  const auto holders = schema::address_holders(store, request.params.at("address"));
  return {200, {{"address", {{"address", holders.name}, {"users", holders.users}}}}};
}

ApiReply show_domain(schema::Store& store, const ApiRequest& request) {
  const auto holders = schema::domain_holders(store, request.params.at("domain"));
  return {200, {{"domain", {{"domain", holders.name}, {"users", holders.users}}}}};
}

ApiReply delete_address(schema::Store& store, const ApiRequest& request) {
  return {200, {{"deleted", {{"address", schema::delete_address(store, request.params.at("address"), request.actor)}}}}};
}

ApiReply delete_domain(schema::Store& store, const ApiRequest& request) {
  return {200, {{"deleted", {{"domain", schema::delete_domain(store, request.params.at("domain"), request.actor)}}}}};
}

json grant_json(const schema::GrantChange& change, GrantTarget kind, bool granted) {
  return {{"grant", {{"user", change.user}, {kind == GrantTarget::Address ? "address" : "domain", change.target},
                     {"granted", granted}}}};
}

template <GrantTarget kind, bool granting>
ApiReply change_grant(schema::Store& store, const ApiRequest& request) {
  allow_fields(request.body, {});
  const std::string& user = request.params.at("name");
  const std::string& target = request.params.at("target");
  const auto change = granting ? schema::grant(store, kind, target, user, request.actor)
                               : schema::revoke(store, kind, target, user, request.actor);
  return {200, grant_json(change, kind, granting)};
}

}  // namespace

void add_grant_routes(Router& router) {
  router.add("GET", "/api/addresses", Role::Read, &list_addresses);
  router.add("POST", "/api/addresses", Role::Admin, &add_address);
  router.add("GET", "/api/addresses/{address}", Role::Read, &show_address);
  router.add("DELETE", "/api/addresses/{address}", Role::Admin, &delete_address);
  router.add("GET", "/api/domains", Role::Read, &list_domains);
  router.add("POST", "/api/domains", Role::Admin, &add_domain);
  router.add("GET", "/api/domains/{domain}", Role::Read, &show_domain);
  router.add("DELETE", "/api/domains/{domain}", Role::Admin, &delete_domain);
  router.add("PUT", "/api/users/{name}/grants/addresses/{target}", Role::Admin,
             &change_grant<GrantTarget::Address, true>);
  router.add("DELETE", "/api/users/{name}/grants/addresses/{target}", Role::Admin,
             &change_grant<GrantTarget::Address, false>);
  router.add("PUT", "/api/users/{name}/grants/domains/{target}", Role::Admin, &change_grant<GrantTarget::Domain, true>);
  router.add("DELETE", "/api/users/{name}/grants/domains/{target}", Role::Admin,
             &change_grant<GrantTarget::Domain, false>);
}

}  // namespace postern::admin
