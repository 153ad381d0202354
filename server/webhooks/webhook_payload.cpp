// See webhook_payload.hpp.
#include "server/webhooks/webhook_payload.hpp"

#include <nlohmann/json.hpp>

#include <ctime>

namespace postern::webhooks {

std::string rfc3339_utc(long long unix_time) {
  const std::time_t time = static_cast<std::time_t>(unix_time);
  std::tm utc{};
  gmtime_r(&time, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string webhook_payload(const schema::WebhookEvent& event) {
  nlohmann::ordered_json message{{"id", event.message_id},
                                 {"sender", event.sender},
                                 {"auth_user", nullptr},
                                 {"intake", event.intake}};
  if (!event.auth_user.empty()) message["auth_user"] = event.auth_user;
  nlohmann::ordered_json recipient{{"address", event.recipient}};
  if (event.share_index > 0) recipient["share"] = event.share_index;
  nlohmann::ordered_json body{{"id", event.event_id},
                              {"type", "message." + event.type},
                              {"created_at", rfc3339_utc(event.created_at)},
                              {"message", std::move(message)},
                              {"recipient", std::move(recipient)}};
  if (event.type != "accepted") body["reply"] = event.reply;
  body["attempt"] = event.attempts;
  // Invalid UTF-8 (a hostile reply) is replaced rather than refused: the event still goes out.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace postern::webhooks
