// The admin API's routing: patterns with {parameters}, percent-decoding after splitting, 405 with
// the methods a path has, the query string, and the role each route of the real table needs.
#include "server/admin/api_error.hpp"
#include "server/admin/openapi_document.hpp"
#include "server/admin/router.hpp"
#include "server/admin/routes.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace postern::admin {
namespace {

ApiReply first(schema::Store&, const ApiRequest&) { return {200, "first"}; }
ApiReply second(schema::Store&, const ApiRequest&) { return {200, "second"}; }

Router sample() {
  Router router;
  router.add("GET", "/api/users", Role::Read, &first);
  router.add("GET", "/api/users/{name}", Role::Read, &second);
  router.add("DELETE", "/api/users/{name}", Role::Admin, &first);
  router.add("PUT", "/api/users/{name}/grants/addresses/{target}", Role::Admin, &second);
  return router;
}

TEST(AdminRouter, MatchesLiteralAndParameterSegments) {
  const Router router = sample();
  const auto list = router.match("GET", "/api/users");
  ASSERT_NE(list.route, nullptr);
  EXPECT_EQ(list.route->handler, &first);
  const auto show = router.match("GET", "/api/users/alice");
  ASSERT_NE(show.route, nullptr);
  EXPECT_EQ(show.route->handler, &second);
  EXPECT_EQ(show.params.at("name"), "alice");
}

TEST(AdminRouter, DecodesEachSegmentAfterSplitting) {
  const auto match = sample().match("PUT", "/api/users/bob/grants/addresses/a%2Bb%40example.com");
  ASSERT_NE(match.route, nullptr);
  EXPECT_EQ(match.params.at("name"), "bob");
  EXPECT_EQ(match.params.at("target"), "a+b@example.com");
  // An encoded slash stays inside its segment.
  const auto slash = sample().match("GET", "/api/users/a%2Fb");
  ASSERT_NE(slash.route, nullptr);
  EXPECT_EQ(slash.params.at("name"), "a/b");
}

TEST(AdminRouter, UnknownPathIsNotFoundAndOtherMethodIsNotAllowed) {
  const Router router = sample();
  const auto missing = router.match("GET", "/api/nothing");
  EXPECT_EQ(missing.route, nullptr);
  EXPECT_EQ(missing.allow, "");
  EXPECT_EQ(router.match("GET", "/api/users/").route, nullptr);  // an empty parameter
  const auto wrong = router.match("POST", "/api/users/alice");
  EXPECT_EQ(wrong.route, nullptr);
  EXPECT_EQ(wrong.allow, "GET, DELETE");
}

TEST(AdminRouter, MalformedEscapeIsABadRequest) {
  try {
    sample().match("GET", "/api/users/a%zz");
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 400u);
    EXPECT_EQ(e.code, "bad_request");
  }
  EXPECT_FALSE(percent_decode("%4").has_value());
  EXPECT_EQ(*percent_decode("a+b%20c"), "a+b c");
}

TEST(AdminRouter, QueryStringDecodesPlusAsSpaceAndKeepsTheLastValue) {
  const auto query = parse_query("state=held&sender=a%2Bb%40x.org&since=2026-01-01+10:00&state=waiting&&flag");
  EXPECT_EQ(query.at("state"), "waiting");
  EXPECT_EQ(query.at("sender"), "a+b@x.org");
  EXPECT_EQ(query.at("since"), "2026-01-01 10:00");
  EXPECT_EQ(query.at("flag"), "");
}

Role role_of(const Router& router, const char* method, const char* path) {
  const auto match = router.match(method, path);
  EXPECT_NE(match.route, nullptr) << method << " " << path;
  return match.route ? match.route->role : Role::Read;
}

TEST(AdminRoutes, ReadingNeedsReadQueueChangesOperateEverythingElseAdmin) {
  const Router router = api_routes();
  EXPECT_EQ(role_of(router, "GET", "/api/users"), Role::Read);
  EXPECT_EQ(role_of(router, "GET", "/api/queue"), Role::Read);
  EXPECT_EQ(role_of(router, "GET", "/api/audit"), Role::Read);
  EXPECT_EQ(role_of(router, "GET", "/api/shares/bob@proxy.example"), Role::Read);
  EXPECT_EQ(role_of(router, "POST", "/api/queue/abc/hold"), Role::Operate);
  EXPECT_EQ(role_of(router, "POST", "/api/queue/abc/release"), Role::Operate);
  EXPECT_EQ(role_of(router, "POST", "/api/queue/abc/retry"), Role::Operate);
  EXPECT_EQ(role_of(router, "POST", "/api/queue/retry"), Role::Operate);
  EXPECT_EQ(role_of(router, "DELETE", "/api/queue/abc"), Role::Operate);
  EXPECT_EQ(role_of(router, "POST", "/api/users"), Role::Admin);
  EXPECT_EQ(role_of(router, "PUT", "/api/users/bob/password"), Role::Admin);
  EXPECT_EQ(role_of(router, "PATCH", "/api/users/bob/limits"), Role::Admin);
  EXPECT_EQ(role_of(router, "PUT", "/api/users/bob/grants/domains/example.com"), Role::Admin);
  EXPECT_EQ(role_of(router, "PUT", "/api/shares/bob@proxy.example/threshold"), Role::Admin);
  for (const Route& route : router.routes()) {
    if (route.method == "GET") EXPECT_EQ(route.role, Role::Read) << route.segments.size();
    else EXPECT_NE(route.role, Role::Read);
  }
}

// The OpenAPI document and the route table describe the same API: every route is documented with
// its method, and every documented operation is routed (except the document itself).
TEST(AdminRoutes, TheOpenApiDocumentListsExactlyTheRoutes) {
  const auto document = nlohmann::json::parse(kOpenApiDocument);
  std::set<std::string> documented;
  for (const auto& [path, item] : document.at("paths").items()) {
    for (const auto& [method, operation] : item.items()) {
      if (method == "parameters" || path == "/api/openapi.json") continue;
      std::string upper = method;
      std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
      documented.insert(upper + " " + path);
    }
  }
  std::set<std::string> routed;
  const Router router = api_routes();
  for (const Route& route : router.routes()) {
    std::string path;
    for (const auto& segment : route.segments) path += "/" + segment;
    routed.insert(route.method + " " + path);
  }
  EXPECT_EQ(documented, routed);
}

}  // namespace
}  // namespace postern::admin
