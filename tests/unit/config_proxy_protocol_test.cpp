// A listener's proxy_protocol, trusted_proxies and proxy_protocol_timeout_seconds.
#include "tests/unit/config_test_support.hpp"

#include "server/config/config_changes.hpp"

namespace postern::config {
namespace {

using namespace test_support;

TEST(ConfigProxyProtocol, OffByDefault) {
  const Config c = parse(kMinimal);
  EXPECT_FALSE(c.listeners.at(0).proxy_protocol);
  EXPECT_TRUE(c.listeners.at(0).trusted_proxies.empty());
  EXPECT_EQ(c.listeners.at(0).proxy_protocol_timeout_seconds, 5u);
}

TEST(ConfigProxyProtocol, ReadsTrustedNetworksOfBothFamilies) {
  const Config c = parse(kMinimal +
                         "listeners:\n  - proxy_protocol: true\n    trusted_proxies: [10.0.0.0/8, \"fd00::/8\", 192.0.2.1]\n"
                         "    proxy_protocol_timeout_seconds: 3\n");
  const ListenerConfig& l = c.listeners.at(0);
  EXPECT_TRUE(l.proxy_protocol);
  ASSERT_EQ(l.trusted_proxies.size(), 3u);
  EXPECT_TRUE(l.trusted_proxies[0].contains("10.1.2.3"));
  EXPECT_TRUE(l.trusted_proxies[1].contains("fd12::1"));
  EXPECT_TRUE(l.trusted_proxies[2].contains("192.0.2.1"));
  EXPECT_EQ(l.proxy_protocol_timeout_seconds, 3u);
}

TEST(ConfigProxyProtocol, ErrorsNameTheKeyAndValue) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{ proxy_protocol: true }", "listeners[0].trusted_proxies: required with proxy_protocol: true"},
      {"{ proxy_protocol: true, trusted_proxies: [10.0.0.0/33] }",
       "listeners[0].trusted_proxies: expected an IPv4 or IPv6 address or CIDR network, got \"10.0.0.0/33\""},
      {"{ proxy_protocol: true, trusted_proxies: [lb.example] }",
       "listeners[0].trusted_proxies: expected an IPv4 or IPv6 address or CIDR network, got \"lb.example\""},
      {"{ trusted_proxies: [10.0.0.0/8] }", "listeners[0].trusted_proxies: only with proxy_protocol: true"},
      {"{ proxy_protocol_timeout_seconds: 3 }",
       "listeners[0].proxy_protocol_timeout_seconds: only with proxy_protocol: true"},
      {"{ kind: lmtp, accept_domains: [t.example], proxy_protocol: true, trusted_proxies: [10.0.0.0/8] }",
       "listeners[0].proxy_protocol: not allowed with kind: lmtp"},
  };
  for (const auto& [listener, error] : cases) {
    SCOPED_TRACE(listener);
    EXPECT_EQ(error_of(kMinimal + "listeners:\n  - " + listener + "\n"), "postern.yaml:4: " + error);
  }
  EXPECT_TRUE(error_of(kMinimal + "listeners:\n  - { proxy_protocol: true, trusted_proxies: [10.0.0.0/8], "
                                  "proxy_protocol_timeout_seconds: 0 }\n")
                  .starts_with("postern.yaml:4: listeners[0].proxy_protocol_timeout_seconds:"));
}

TEST(ConfigProxyProtocol, AChangeIsAReloadOfTheListener) {
  const Config before = parse(kMinimal + "listeners:\n  - port: 2587\n");
  const Config on = parse(kMinimal + "listeners:\n  - port: 2587\n    proxy_protocol: true\n    trusted_proxies: [10.0.0.0/8]\n");
  const Config other_proxies =
      parse(kMinimal + "listeners:\n  - port: 2587\n    proxy_protocol: true\n    trusted_proxies: [10.0.0.0/16]\n");
  EXPECT_EQ(plan_listeners(before.listeners, on.listeners).changed.size(), 1u);
  EXPECT_EQ(plan_listeners(on.listeners, other_proxies.listeners).changed.size(), 1u);
  EXPECT_TRUE(plan_listeners(on.listeners, on.listeners).changed.empty());
}

}  // namespace
}  // namespace postern::config
