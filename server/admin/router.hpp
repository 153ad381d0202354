// The admin API's routes: a method and a path pattern ("/api/users/{name}/grants/addresses/{address}")
// with the role a token needs and the handler that answers. match() splits the path into
// segments first and percent-decodes each afterwards, so "%2F" inside a name never splits it.
//
//   Router router;
//   router.add("GET", "/api/users/{name}", Role::Read, &show_user);
//   const auto match = router.match("GET", "/api/users/alice%2Bx");  // params["name"] == "alice+x"
#pragma once

#include "server/admin/api_request.hpp"
#include "server/admin/token_store.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace postern::admin {

struct Route {
  std::string method;
  std::vector<std::string> segments;  // "{name}" for a parameter
  Role role = Role::Admin;
  Handler handler = nullptr;
};

struct RouteMatch {
  const Route* route = nullptr;  // null: no route for this method and path
  std::map<std::string, std::string> params;
  std::string allow;  // with route null: the methods the path has ("GET, DELETE"); empty: 404
};

class Router {
 public:
  void add(std::string method, std::string_view pattern, Role role, Handler handler);
  // The first route added that matches. ApiError bad_request for a malformed %-escape.
  RouteMatch match(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// "%41b+c" -> "Ab+c" ('+' stays: it is not a space in a path). nullopt for a bad escape.
std::optional<std::string> percent_decode(std::string_view text);

// The query string's pairs, decoded ('+' is a space there). ApiError bad_request for a bad escape.
std::map<std::string, std::string> parse_query(std::string_view query);

}  // namespace postern::admin
