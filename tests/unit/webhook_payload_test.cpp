#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "server/webhooks/webhook_payload.hpp"

namespace postern::webhooks {
namespace {

schema::WebhookEvent delivered_event() {
  schema::WebhookEvent event;
  event.id = 7;
  event.event_id = "0b7e2c1a-5d7e-4c43-9f55-2b1b7f0f9a10";
  event.endpoint = "crm";
  event.type = "delivered";
  event.message_id = "q123";
  event.sender = "alice@example.com";
  event.auth_user = "alice";
  event.intake = "submission";
  event.recipient = "bob@example.net";
  event.reply = "250 2.0.0 OK";
  event.created_at = 1764600000;  // date -u -d @1764600000: 2025-12-01T14:40:00Z
  event.attempts = 2;
  return event;
}

TEST(WebhookPayload, IsCompactWithKeysInOrder) {
  EXPECT_EQ(webhook_payload(delivered_event()),
            R"({"id":"0b7e2c1a-5d7e-4c43-9f55-2b1b7f0f9a10","type":"message.delivered",)"
            R"("created_at":"2025-12-01T14:40:00Z",)"
            R"("message":{"id":"q123","sender":"alice@example.com","auth_user":"alice","intake":"submission"},)"
            R"("recipient":{"address":"bob@example.net"},"reply":"250 2.0.0 OK","attempt":2})");
}

TEST(WebhookPayload, AcceptedHasNoReplyAndNoUserIsNull) {
  schema::WebhookEvent event = delivered_event();
  event.type = "accepted";
  event.auth_user.clear();
  event.intake = "inbound";
  const auto body = nlohmann::json::parse(webhook_payload(event));
  EXPECT_EQ(body.at("type"), "message.accepted");
  EXPECT_FALSE(body.contains("reply"));
  EXPECT_TRUE(body.at("message").at("auth_user").is_null());
  EXPECT_EQ(body.at("message").at("intake"), "inbound");
}

TEST(WebhookPayload, AShareNamesItsIndex) {
  schema::WebhookEvent event = delivered_event();
  event.share_index = 3;
  const auto body = nlohmann::json::parse(webhook_payload(event));
  EXPECT_EQ(body.at("recipient").at("share"), 3);
}

TEST(WebhookPayload, AReplyThatIsNotUtf8StillGoesOut) {
  schema::WebhookEvent event = delivered_event();
  event.type = "bounced";
  event.reply = "550 bad \xff byte";
  const auto body = nlohmann::json::parse(webhook_payload(event));
  EXPECT_EQ(body.at("reply"), "550 bad \xEF\xBF\xBD byte");
}

TEST(WebhookPayload, TimesAreRfc3339Utc) {
  EXPECT_EQ(rfc3339_utc(0), "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace postern::webhooks
