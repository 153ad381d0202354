// The admin API's JSON: strict bodies (objects only, unknown fields named), the error shape with
// its stable codes, schema errors mapped to statuses, and the bearer header.
#include "server/admin/admin_api.hpp"
#include "server/admin/api_error.hpp"
#include "server/admin/json_body.hpp"

#include "postern/schema/errors.hpp"

#include <gtest/gtest.h>

namespace postern::admin {
namespace {

template <class F>
ApiError error_of(F&& f) {
  try {
    f();
  } catch (const ApiError& e) {
    return e;
  }
  return ApiError(0, "", "no error");
}

TEST(AdminJson, EmptyBodyIsAnEmptyObject) {
  EXPECT_EQ(parse_body(""), nlohmann::json::object());
  EXPECT_EQ(parse_body(" \r\n"), nlohmann::json::object());
}

TEST(AdminJson, MalformedBodyIsInvalidJsonAndANonObjectIsABadRequest) {
  const ApiError invalid = error_of([] { parse_body("{\"name\": "); });
  EXPECT_EQ(invalid.status, 400u);
  EXPECT_EQ(invalid.code, "invalid_json");
  EXPECT_EQ(error_of([] { parse_body("[1, 2]"); }).code, "bad_request");
}

TEST(AdminJson, UnknownFieldIsNamed) {
  const auto body = parse_body(R"({"name":"bob","password":"x","admin":true})");
  const ApiError e = error_of([&] { allow_fields(body, {"name", "password"}); });
  EXPECT_EQ(e.status, 400u);
  EXPECT_EQ(e.code, "unknown_field");
  EXPECT_STREQ(e.what(), "unknown field \"admin\"");
}

TEST(AdminJson, StringFieldsAreRequiredAndTyped) {
  const auto body = parse_body(R"({"name":"bob","count":3})");
  EXPECT_EQ(string_field(body, "name"), "bob");
  EXPECT_EQ(error_of([&] { string_field(body, "password"); }).code, "bad_request");
  EXPECT_STREQ(error_of([&] { string_field(body, "count"); }).what(), "field \"count\" must be a string");
  EXPECT_FALSE(optional_string_field(body, "missing").has_value());
}

TEST(AdminJson, ErrorBodyHasCodeAndMessage) {
  EXPECT_EQ(error_body("not_found", "user bob does not exist").dump(),
            R"({"error":{"code":"not_found","message":"user bob does not exist"}})");
}

TEST(AdminJson, SchemaErrorsMapToStatusesAndCodes) {
  const auto mapped = [](auto error) { return api_error_of(std::make_exception_ptr(error)); };
  const ApiError not_found = mapped(schema::NotFound("user bob does not exist"));
  EXPECT_EQ(not_found.status, 404u);
  EXPECT_EQ(not_found.code, "not_found");
  EXPECT_STREQ(not_found.what(), "user bob does not exist");
  EXPECT_EQ(mapped(schema::AlreadyExists("x")).status, 409u);
  EXPECT_EQ(mapped(schema::AlreadyExists("x")).code, "already_exists");
  EXPECT_EQ(mapped(schema::InvalidInput("x")).code, "bad_request");
  const ApiError unavailable = mapped(schema::DatabaseUnavailable("connection to 10.0.0.1 refused: password=x"));
  EXPECT_EQ(unavailable.status, 503u);
  EXPECT_EQ(unavailable.code, "database_unavailable");
  EXPECT_EQ(std::string(unavailable.what()).find("password"), std::string::npos);
  const ApiError internal = mapped(std::runtime_error("secret detail"));
  EXPECT_EQ(internal.status, 500u);
  EXPECT_STREQ(internal.what(), "internal error");
}

TEST(AdminJson, ResponseIsJsonNoStoreAndSurvivesInvalidUtf8) {
  const Response response = json_response(11, 404, error_body("not_found", std::string("user \xff does not exist")));
  EXPECT_EQ(response.result_int(), 404u);
  EXPECT_EQ(response[boost::beast::http::field::content_type], "application/json");
  EXPECT_EQ(response[boost::beast::http::field::cache_control], "no-store");
  EXPECT_TRUE(nlohmann::json::accept(response.body()));
}

TEST(AdminJson, BearerTokenIsTakenFromTheAuthorizationHeader) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer  abc "), "abc");
  EXPECT_EQ(bearer_token("Basic abc"), "");
  EXPECT_EQ(bearer_token("Bearer"), "");
  EXPECT_EQ(bearer_token(""), "");
}

}  // namespace
}  // namespace postern::admin
