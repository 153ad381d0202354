// What a route's handler gets and gives back. Handlers run on the API's blocking threads with a
// schema::Store of their own, so a request is a plain value that the pool can own.
#pragma once

#include "postern/schema/password.hpp"
#include "postern/schema/seal.hpp"
#include "postern/schema/sender_rule.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace postern::schema { class Store; }

namespace postern::admin {

// What the relay's configuration says that the operations need; a reload replaces it.
struct ApiSettings {
  schema::Argon2Params argon2;  // for new passwords
  schema::SenderPolicy policy;  // for the sender check
  schema::SealKeys seal_keys;   // to show a sealed message's headers, to seal new DKIM keys
};

struct ApiRequest {
  std::map<std::string, std::string> params;  // the path's {name} segments, percent-decoded
  std::map<std::string, std::string> query;   // decoded; a key given twice keeps the last value
  nlohmann::json body;                        // an object; empty when the request had no body
  std::string actor;                          // "api:<token name>", for the audit log
  ApiSettings settings;
};

struct ApiReply {
  unsigned status = 200;
  nlohmann::json body;
};

using Handler = ApiReply (*)(schema::Store& store, const ApiRequest& request);

}  // namespace postern::admin
