#include <gtest/gtest.h>

#include "server/webhooks/webhook_url.hpp"

namespace postern::webhooks {
namespace {

TEST(WebhookUrl, SplitsAnHttpsUrl) {
  const WebhookUrl url = parse_webhook_url("https://hooks.example.com:8443/postern/events?x=1");
  EXPECT_TRUE(url.tls);
  EXPECT_EQ(url.host, "hooks.example.com");
  EXPECT_EQ(url.port, "8443");
  EXPECT_EQ(url.target, "/postern/events?x=1");
  EXPECT_EQ(url.host_header(), "hooks.example.com:8443");
}

TEST(WebhookUrl, DefaultsThePortAndThePath) {
  const WebhookUrl url = parse_webhook_url("https://hooks.example.com");
  EXPECT_EQ(url.port, "443");
  EXPECT_EQ(url.target, "/");
  EXPECT_EQ(url.host_header(), "hooks.example.com");
  EXPECT_EQ(url.origin(), "https://hooks.example.com:443");
}

TEST(WebhookUrl, TakesAnIpv6Literal) {
  const WebhookUrl url = parse_webhook_url("http://[::1]:8080/h");
  EXPECT_FALSE(url.tls);
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.host_header(), "[::1]:8080");
  EXPECT_EQ(url.origin(), "http://[::1]:8080");
}

TEST(WebhookUrl, HttpOnlyToLoopback) {
  EXPECT_NO_THROW(parse_webhook_url("http://127.0.0.1:9000/h"));
  EXPECT_NO_THROW(parse_webhook_url("http://127.8.9.10/h"));
  EXPECT_NO_THROW(parse_webhook_url("http://localhost/h"));
  EXPECT_THROW(parse_webhook_url("http://hooks.example.com/h"), std::invalid_argument);
  EXPECT_THROW(parse_webhook_url("http://10.0.0.1/h"), std::invalid_argument);
  EXPECT_THROW(parse_webhook_url("http://[::2]/h"), std::invalid_argument);
}

TEST(WebhookUrl, RefusesWhatIsNotAUsableUrl) {
  for (const char* bad : {"ftp://x/", "https://", "https://:443/", "https://h:0/", "https://h:99999/",
                          "https://h:/", "https://user:pw@h/", "https://h/a b", "https://[::1/", "https://h/#f",
                          "https://h\r\n/x"}) {
    EXPECT_THROW(parse_webhook_url(bad), std::invalid_argument) << bad;
  }
}

TEST(WebhookUrl, LoopbackHosts) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("128.0.0.1"));
  EXPECT_FALSE(is_loopback_host("localhost.example.com"));
}

}  // namespace
}  // namespace postern::webhooks
