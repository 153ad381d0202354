// See admin_api.hpp.
#include "server/admin/admin_api.hpp"

#include "server/admin/api_error.hpp"
#include "server/admin/json_body.hpp"
#include "server/admin/openapi_document.hpp"
#include "server/admin/routes.hpp"
#include "server/runtime/log.hpp"

#include <boost/beast/http/field.hpp>

namespace postern::admin {
namespace bhttp = boost::beast::http;

namespace {

constexpr std::string_view kOpenApiPath = "/api/openapi.json";

Response error_response(unsigned version, const ApiError& error) {
  Response response = json_response(version, error.status, error_body(error.code, error.what()));
  if (error.status == 401) response.set(bhttp::field::www_authenticate, "Bearer realm=\"postern-admin\"");
  return response;
}

std::string_view view(boost::beast::string_view text) { return {text.data(), text.size()}; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

Response json_response(unsigned version, unsigned status, const nlohmann::json& body) {
  Response response{static_cast<bhttp::status>(status), version};
  response.set(bhttp::field::content_type, "application/json");
  response.set(bhttp::field::cache_control, "no-store");
  // Text from the database or the request (a legacy name, a refused field) may not be UTF-8.
  response.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  response.prepare_payload();
  return response;
}

std::string bearer_token(std::string_view authorization) {
  const std::size_t space = authorization.find(' ');
  if (space == std::string_view::npos || !equals_ignoring_case(authorization.substr(0, space), "bearer")) return "";
  std::string_view token = authorization.substr(space + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return std::string(token);
}

AdminApi::AdminApi(TokenStore tokens, ApiSettings settings, BlockingPool::Options pool, double requests_per_second,
                   double burst)
    : tokens_(std::move(tokens)),
      settings_(std::move(settings)),
      router_(api_routes()),
      limiter_(requests_per_second, burst),
      pool_(std::move(pool)) {}

AdminApi::Dispatch AdminApi::dispatch(const Request& request, const std::string& peer) {
  const unsigned version = request.version();
  const std::string_view target = view(request.target());
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  try {
    if (path == kOpenApiPath && request.method() == bhttp::verb::get) {
      Response response{bhttp::status::ok, version};
      response.set(bhttp::field::content_type, "application/json");
      response.body() = std::string(kOpenApiDocument);
      response.prepare_payload();
      return {std::move(response), nullptr, {}};
    }
    const auto token = tokens_.find(bearer_token(view(request[bhttp::field::authorization])));
    if (const unsigned wait = limiter_.take(token ? "token " + token->name : "peer " + peer)) {
      Response response = error_response(version, ApiError(429, "rate_limited", "too many requests; slow down"));
      response.set(bhttp::field::retry_after, std::to_string(wait));
      return {std::move(response), nullptr, {}};
    }
    if (!token) throw ApiError(401, "unauthorized", "a valid bearer token is required");
    RouteMatch match = router_.match(view(request.method_string()), path);
    if (match.route == nullptr && match.allow.empty()) throw ApiError(404, "not_found", "no such endpoint");
    if (match.route == nullptr) {
      Response response = error_response(version, ApiError(405, "method_not_allowed", "allowed: " + match.allow));
      response.set(bhttp::field::allow, match.allow);
      return {std::move(response), nullptr, {}};
    }
    if (!role_allows(token->role, match.route->role)) {
      throw ApiError(403, "forbidden", "this needs a token of role " + std::string(role_name(match.route->role)));
    }
    ApiRequest api_request;
    api_request.params = std::move(match.params);
    if (question != std::string_view::npos) api_request.query = parse_query(target.substr(question + 1));
    api_request.body = parse_body(request.body());
    // GET and DELETE take no fields: one sent is refused like any unknown field.
    if (request.method() == bhttp::verb::get || request.method() == bhttp::verb::delete_) {
      allow_fields(api_request.body, {});
    }
    api_request.actor = "api:" + token->name;
    api_request.settings = *settings_.get();
    return {std::nullopt, match.route->handler, std::move(api_request)};
  } catch (const ApiError& e) {
    return {error_response(version, e), nullptr, {}};
  }
}

boost::asio::awaitable<Response> AdminApi::answer(const Request& request, const std::string& peer) {
  Dispatch dispatched = dispatch(request, peer);
  const std::string actor = dispatched.request.actor;
  Response response;
  if (dispatched.refused) {
    response = std::move(*dispatched.refused);
  } else {
    ApiReply reply;
    std::exception_ptr error;
    try {
      reply = co_await pool_.run(
          [](BlockingContext& context, Handler handler, ApiRequest api_request) {
            return handler(context.store(), api_request);
          },
          dispatched.handler, std::move(dispatched.request));
    } catch (...) {
      error = std::current_exception();
    }
    if (error) {
      const ApiError api_error = api_error_of(error);
      if (api_error.status >= 500) {
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          log::warning("admin_api_failed", {{"target", std::string(request.target())}, {"error", e.what()}});
        } catch (...) {
          log::warning("admin_api_failed", {{"target", std::string(request.target())}, {"error", "unknown"}});
        }
      }
      response = error_response(request.version(), api_error);
    } else {
      response = json_response(request.version(), reply.status, reply.body);
    }
  }
  log::info("admin_api_request", {{"method", std::string(request.method_string())},
                                  {"target", std::string(request.target())},
                                  {"actor", actor.empty() ? "-" : actor},
                                  {"status", std::to_string(response.result_int())}});
  co_return response;
}

}  // namespace postern::admin
