// The webhooks: section: off (no endpoints, no subscriptions) unless endpoints are listed; an
// endpoint's secret from a file or the environment, never inline; https:// or http:// to a
// loopback address only; errors naming the line and the key.
#include "tests/unit/config_test_support.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern::config {
namespace {

using namespace test_support;
using schema::WebhookEventType;

const auto kSecretEnv = environment({{"CRM_SECRET", "s3cret"}});

std::string with_endpoint(const std::string& keys) {
  return kMinimal + "webhooks:\n  endpoints:\n    - name: crm\n" + keys;
}

TEST(ConfigWebhooks, OffWithoutEndpoints) {
  const Config c = parse(kMinimal);
  EXPECT_TRUE(c.webhooks.endpoints.empty());
  EXPECT_TRUE(c.delivery.webhooks.empty());
  EXPECT_TRUE(parse(kMinimal + "webhooks:\n  timeout_seconds: 3\n").delivery.webhooks.empty());
}

TEST(ConfigWebhooks, ReadsAnEndpointWithAllEventsByDefault) {
  const Config c = parse(with_endpoint("      url: https://hooks.example.com/postern\n      secret_env: CRM_SECRET\n"),
                         kSecretEnv);
  ASSERT_EQ(c.webhooks.endpoints.size(), 1u);
  const WebhookEndpoint& e = c.webhooks.endpoints[0];
  EXPECT_EQ(e.name, "crm");
  EXPECT_EQ(e.url, "https://hooks.example.com/postern");
  EXPECT_EQ(e.secret, "s3cret");
  EXPECT_EQ(e.ca_file, "");
  EXPECT_EQ(e.events, (std::vector<WebhookEventType>{WebhookEventType::Accepted, WebhookEventType::Delivered,
                                                     WebhookEventType::Deferred, WebhookEventType::Bounced,
                                                     WebhookEventType::Expired}));
  for (const auto type : e.events) {
    EXPECT_TRUE(c.delivery.webhooks.wants(type));
    EXPECT_EQ(c.delivery.webhooks.endpoints(type), "crm");
  }
}

TEST(ConfigWebhooks, ReadsEveryKey) {
  const TempFile secret{"from-file\n"};
  const std::string ca = std::string(POSTERN_SOURCE_DIR) + "/README.md";  // read when posting; here: readable
  const Config c = parse(kMinimal + "webhooks:\n  endpoints:\n"
                                    "    - name: audit\n      url: http://127.0.0.1:9000/h\n      secret_env: CRM_SECRET\n"
                                    "      events: [bounced, expired]\n"
                                    "    - name: crm\n      url: https://hooks.example.com:8443/p\n"
                                    "      secret_file: " + secret.path() + "\n      ca_file: " + ca + "\n"
                                    "  timeout_seconds: 3\n  concurrency: 2\n  batch: 50\n  poll_milliseconds: 250\n"
                                    "  first_retry_seconds: 5\n  max_retry_seconds: 600\n  give_up_hours: 24\n",
                         kSecretEnv);
  const WebhooksConfig& w = c.webhooks;
  ASSERT_EQ(w.endpoints.size(), 2u);
  EXPECT_EQ(w.endpoints[0].events, (std::vector<WebhookEventType>{WebhookEventType::Bounced, WebhookEventType::Expired}));
  EXPECT_EQ(w.endpoints[1].secret, "from-file");
  EXPECT_EQ(w.endpoints[1].ca_file, ca);
  EXPECT_EQ(w.timeout_seconds, 3u);
  EXPECT_EQ(w.concurrency, 2u);
  EXPECT_EQ(w.batch, 50u);
  EXPECT_EQ(w.poll_milliseconds, 250u);
  EXPECT_EQ(w.first_retry_seconds, 5u);
  EXPECT_EQ(w.max_retry_seconds, 600u);
  EXPECT_EQ(w.give_up_hours, 24u);
  EXPECT_EQ(c.delivery.webhooks.endpoints(WebhookEventType::Bounced), "audit,crm");
  EXPECT_EQ(c.delivery.webhooks.endpoints(WebhookEventType::Accepted), "crm");
}

TEST(ConfigWebhooks, HttpOnlyToLoopback) {
  EXPECT_EQ(error_of(with_endpoint("      url: http://hooks.example.com/h\n      secret_env: CRM_SECRET\n"), kSecretEnv),
            "postern.yaml:6: webhooks.endpoints[0].url: \"http://hooks.example.com/h\": http:// only to a loopback "
            "address (127.0.0.0/8, ::1, localhost); use https://");
  EXPECT_EQ(error_of(with_endpoint("      url: http://[::1]:8080/h\n      secret_env: CRM_SECRET\n"), kSecretEnv), "");
  EXPECT_EQ(error_of(with_endpoint("      url: http://localhost/h\n      secret_env: CRM_SECRET\n"), kSecretEnv), "");
}

TEST(ConfigWebhooks, RefusalsNameLineAndKey) {
  const std::string url = "      url: https://h.example.com/\n";
  EXPECT_EQ(error_of(kMinimal + "webhooks:\n  endpoints:\n    - name: Bad!\n" + url + "      secret_env: CRM_SECRET\n",
                     kSecretEnv),
            "postern.yaml:5: webhooks.endpoints[0].name: expected 1 to 63 of a-z, 0-9, '_' and '-', starting with a "
            "letter or digit, got \"Bad!\"");
  EXPECT_EQ(error_of(with_endpoint(url + "      secret_env: CRM_SECRET\n    - name: crm\n" + url +
                                   "      secret_env: CRM_SECRET\n"),
                     kSecretEnv),
            "postern.yaml:8: webhooks.endpoints[1].name: another endpoint is named \"crm\"");
  EXPECT_EQ(error_of(with_endpoint("      secret_env: CRM_SECRET\n"), kSecretEnv),
            "postern.yaml:5: webhooks.endpoints[0].url: required");
  EXPECT_EQ(error_of(with_endpoint(url + "      secret: inline\n"), kSecretEnv),
            "postern.yaml:7: webhooks.endpoints[0].secret: inline secrets are not allowed: use secret_file or "
            "secret_env");
  EXPECT_EQ(error_of(with_endpoint(url), kSecretEnv),
            "postern.yaml:5: webhooks.endpoints[0].name: needs secret_file or secret_env");
  EXPECT_EQ(error_of(with_endpoint(url + "      secret_env: MISSING\n"), kSecretEnv),
            "postern.yaml:7: webhooks.endpoints[0].secret_env: environment variable MISSING is not set");
  EXPECT_EQ(error_of(with_endpoint(url + "      secret_env: CRM_SECRET\n      events: [delivered, sent]\n"),
                     kSecretEnv),
            "postern.yaml:8: webhooks.endpoints[0].events: unknown event \"sent\" (expected accepted, delivered, "
            "deferred, bounced or expired)");
  EXPECT_EQ(error_of(with_endpoint(url + "      secret_env: CRM_SECRET\n      ca_file: relative.pem\n"), kSecretEnv),
            "postern.yaml:8: webhooks.endpoints[0].ca_file: expected an absolute path, got \"relative.pem\"");
  EXPECT_EQ(error_of(with_endpoint(url + "      secret_env: CRM_SECRET\n      ca_file: /nonexistent/ca.pem\n"),
                     kSecretEnv),
            "postern.yaml:8: webhooks.endpoints[0].ca_file: cannot read /nonexistent/ca.pem: No such file or directory");
  EXPECT_EQ(error_of(with_endpoint(url + "      secret_env: CRM_SECRET\n  first_retry_seconds: 60\n"
                                         "  max_retry_seconds: 30\n"),
                     kSecretEnv),
            "postern.yaml:9: webhooks.max_retry_seconds: must be at least first_retry_seconds (60), got 30");
  EXPECT_EQ(error_of(with_endpoint(url + "      secret_env: CRM_SECRET\n  concurrency: 0\n"), kSecretEnv).substr(0, 45),
            "postern.yaml:8: webhooks.concurrency: expecte");
}

TEST(ConfigWebhooks, AnEmptySecretFileIsRefusedWithoutShowingIt) {
  const TempFile secret{"\n"};
  EXPECT_EQ(error_of(with_endpoint("      url: https://h.example.com/\n      secret_file: " + secret.path() + "\n")),
            "postern.yaml:7: webhooks.endpoints[0].secret_file: " + secret.path() + " is empty");
}

TEST(ConfigWebhooks, TheStartUpLineShowsNoSecretNorPath) {
  const std::string line =
      describe(parse(with_endpoint("      url: https://hooks.example.com/p?token=abc\n      secret_env: CRM_SECRET\n"),
                     kSecretEnv));
  EXPECT_NE(line.find("webhooks.endpoints=crm:https://hooks.example.com:443[all]"), std::string::npos) << line;
  EXPECT_EQ(line.find("s3cret"), std::string::npos);
  EXPECT_EQ(line.find("token"), std::string::npos);
}

}  // namespace
}  // namespace postern::config
