#include <gtest/gtest.h>

#include "server/webhooks/webhook_signature.hpp"

#include <string>

namespace postern::webhooks {
namespace {

// printf '%s' '1764600000.{"id":"x"}' | openssl dgst -sha256 -hmac whsec-test
TEST(WebhookSignature, IsTimeAndHexHmacOfTimeDotBody) {
  EXPECT_EQ(webhook_signature("whsec-test", 1764600000, R"({"id":"x"})"),
            "t=1764600000,v1=839781cb94aac582abf13ea9c37df27381cc5ddacc2355ae3cda60569ddeb361");
}

// python3 -c "import hmac,hashlib; print(hmac.new(b'k'*100, b'1.', hashlib.sha256).hexdigest())"
TEST(WebhookSignature, TakesAKeyLongerThanTheHashBlock) {
  EXPECT_EQ(hmac_sha256_hex(std::string(100, 'k'), "1."),
            "f380fa061ddac7555fce09c4f9d5ba3c4d7eb9115eaa097dd2c14988a18ae793");
}

TEST(WebhookSignature, ChangesWithTheSecretTheTimeAndTheBody) {
  const std::string base = webhook_signature("s", 10, "b");
  EXPECT_NE(webhook_signature("t", 10, "b"), base);
  EXPECT_NE(webhook_signature("s", 11, "b"), base);
  EXPECT_NE(webhook_signature("s", 10, "c"), base);
}

}  // namespace
}  // namespace postern::webhooks
