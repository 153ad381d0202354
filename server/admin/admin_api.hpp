// The admin API's HTTP semantics, apart from sockets (admin_server.hpp): one parsed request in,
// one response out. In order: GET /api/openapi.json needs no token; every other request needs
// `Authorization: Bearer TOKEN` (401 with WWW-Authenticate: Bearer otherwise), stays within the
// rate of its token (of its peer while it has none; 429 with Retry-After beyond), names a route
// (404, or 405 with Allow) whose role the token holds (403), and has a JSON object body with only
// the fields the route knows. The operation then runs on the API's own blocking threads and
// database connections, never on the I/O threads; every change is audited as "api:<token name>".
//
//   AdminApi api{tokens, settings, pool_options, 20, 40};
//   Response response = co_await api.answer(request, "127.0.0.1");
#pragma once

#include "server/admin/api_request.hpp"
#include "server/admin/rate_limiter.hpp"
#include "server/admin/router.hpp"
#include "server/admin/token_store.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "server/runtime/snapshot.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>

namespace postern::admin {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// A JSON response (application/json, no-store) of `status`.
Response json_response(unsigned version, unsigned status, const nlohmann::json& body);

// The "Bearer" credentials of an Authorization header value; empty when there are none.
std::string bearer_token(std::string_view authorization);

class AdminApi {
 public:
  AdminApi(TokenStore tokens, ApiSettings settings, BlockingPool::Options pool, double requests_per_second,
           double burst);

  // `peer` keys the rate limit of requests without a valid token.
  boost::asio::awaitable<Response> answer(const Request& request, const std::string& peer);

  // Requests from now on use these (SIGHUP).
  void reconfigure(ApiSettings settings) { settings_.replace(std::move(settings)); }

  // Finishes the operations under way and closes the database connections.
  void stop() { pool_.stop(); }

 private:
  // What to run for a request that passed every check, or the answer that refused it.
  struct Dispatch {
    std::optional<Response> refused;
    Handler handler = nullptr;
    ApiRequest request;
  };
  Dispatch dispatch(const Request& request, const std::string& peer);

  TokenStore tokens_;
  Snapshot<ApiSettings> settings_;
  Router router_;
  RateLimiter limiter_;
  BlockingPool pool_;
};

}  // namespace postern::admin
