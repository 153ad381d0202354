// The delivery section: delivery:, upstreams:, routes: and default_upstream:.
#include "tests/unit/config_test_support.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace postern::config {
namespace {

using namespace test_support;

const std::string kProvider =
    "upstreams:\n  - { name: provider, host: smtp.provider.example }\ndefault_upstream: provider\n";

TEST(ConfigDelivery, DefaultsDisableDelivery) {
  const delivery::DeliveryConfig d = parse(kMinimal).delivery;
  EXPECT_TRUE(d.upstreams.empty());
  EXPECT_TRUE(d.routes.empty());
  EXPECT_EQ(d.default_upstream, "");
  EXPECT_EQ(d.workers, 16u);
  EXPECT_EQ(d.lease_seconds, 30u);
  EXPECT_EQ(d.lifetime_seconds, 432000u);
  EXPECT_EQ(d.first_retry_seconds, 60u);
  EXPECT_EQ(d.max_retry_seconds, 3600u);
  EXPECT_EQ(d.poll_seconds, 30u);
  EXPECT_TRUE(parse(kMinimal + "upstreams: []\n").delivery.upstreams.empty());
  EXPECT_TRUE(parse(kMinimal + "upstreams:\nroutes:\n").delivery.upstreams.empty());
}

TEST(ConfigDelivery, EveryKeyIsParsed) {
  const TempFile secret("pr0vider-s3cret\n");
  const Config c = parse(kMinimal + R"(
delivery:
  workers: 4
  lease_seconds: 120
  lifetime_seconds: 86400
  first_retry_seconds: 30
  max_retry_seconds: 30
  poll_seconds: 5
upstreams:
  - name: provider
    kind: smtp
    host: smtp.provider.example
    port: 2587
    security: starttls
    verify_certificate: true
    ca_file: /etc/ssl/certs/ca-certificates.crt
    username: relay@example.com
    password_file: )" + secret.path() + R"(
    ehlo_name: relay.example.com
    max_connections: 2
    timeout_seconds: 20
    idle_seconds: 0
    rewrite: { return_path: bounces@Example.COM, reply_to: support@example.com }
  - name: local
    kind: maildir
    path: /var/lib/postern/maildir
  - { name: env-auth, host: "2001:db8::25", security: tls, verify_certificate: false,
      username: u, password_env: PROVIDER_PASSWORD }
routes:
  - sender_domain: Example.COM
    upstream: provider
  - sender: Alerts@Example.ORG
    upstream: local
default_upstream: env-auth
)", environment({{"PROVIDER_PASSWORD", "env-s3cret"}}));
  const delivery::DeliveryConfig& d = c.delivery;
  EXPECT_EQ(d.workers, 4u);
  EXPECT_EQ(d.lease_seconds, 120u);
  EXPECT_EQ(d.lifetime_seconds, 86400u);
  EXPECT_EQ(d.first_retry_seconds, 30u);
  EXPECT_EQ(d.max_retry_seconds, 30u);
  EXPECT_EQ(d.poll_seconds, 5u);
  ASSERT_EQ(d.upstreams.size(), 3u);
  const delivery::Upstream& p = d.upstreams[0];
  EXPECT_EQ(p.name, "provider");
  EXPECT_EQ(p.kind, delivery::UpstreamKind::Smtp);
  EXPECT_EQ(p.host, "smtp.provider.example");
  EXPECT_EQ(p.port, 2587);
  EXPECT_EQ(p.security, delivery::UpstreamSecurity::StartTls);
  EXPECT_TRUE(p.verify_certificate);
  EXPECT_EQ(p.ca_file, "/etc/ssl/certs/ca-certificates.crt");
  EXPECT_EQ(p.username, "relay@example.com");
  EXPECT_EQ(p.password, "pr0vider-s3cret");
  EXPECT_EQ(p.ehlo_name, "relay.example.com");
  EXPECT_EQ(p.max_connections, 2u);
  EXPECT_EQ(p.timeout_seconds, 20u);
  EXPECT_EQ(p.idle_seconds, 0u);
  EXPECT_EQ(p.rewrite_return_path, "bounces@example.com");
  EXPECT_EQ(p.rewrite_reply_to, "support@example.com");
  const delivery::Upstream& l = d.upstreams[1];
  EXPECT_EQ(l.kind, delivery::UpstreamKind::Maildir);
  EXPECT_EQ(l.maildir, "/var/lib/postern/maildir");
  EXPECT_EQ(l.host, "");
  const delivery::Upstream& e = d.upstreams[2];
  EXPECT_EQ(e.host, "2001:db8::25");
  EXPECT_EQ(e.port, 465);
  EXPECT_FALSE(e.verify_certificate);
  EXPECT_EQ(e.password, "env-s3cret");
  ASSERT_EQ(d.routes.size(), 2u);
  EXPECT_EQ(d.routes[0].sender, "");
  EXPECT_EQ(d.routes[0].sender_domain, "example.com");
  EXPECT_EQ(d.routes[0].upstream, "provider");
  EXPECT_EQ(d.routes[1].sender, "alerts@example.org");
  EXPECT_EQ(d.routes[1].sender_domain, "");
  EXPECT_EQ(d.default_upstream, "env-auth");
}

TEST(ConfigDelivery, UpstreamDefaults) {
  const delivery::Upstream u = parse(kMinimal + kProvider).delivery.upstreams.at(0);
  EXPECT_EQ(u.kind, delivery::UpstreamKind::Smtp);
  EXPECT_EQ(u.port, 587);
  EXPECT_EQ(u.security, delivery::UpstreamSecurity::StartTls);
  EXPECT_TRUE(u.verify_certificate);
  EXPECT_EQ(u.ca_file, "");
  EXPECT_EQ(u.username, "");
  EXPECT_EQ(u.password, "");
  EXPECT_EQ(u.ehlo_name, "");
  EXPECT_EQ(u.max_connections, 4u);
  EXPECT_EQ(u.timeout_seconds, 60u);
  EXPECT_EQ(u.idle_seconds, 30u);
  EXPECT_EQ(u.rewrite_return_path, "");
  EXPECT_EQ(u.rewrite_reply_to, "");
}

TEST(ConfigDelivery, DefaultPortFollowsSecurity) {
  for (const auto& [security, port] : std::vector<std::pair<std::string, int>>{
           {"none", 25}, {"starttls", 587}, {"tls", 465}}) {
    const Config c = parse(kMinimal + "upstreams:\n  - { name: a, host: mx.example.net, security: " +
                           security + " }\ndefault_upstream: a\n");
    EXPECT_EQ(c.delivery.upstreams.at(0).port, port) << security;
  }
  const Config c = parse(kMinimal +
                         "upstreams:\n  - { name: a, host: mx.example.net, security: tls, port: 2465 }\n"
                         "default_upstream: a\n");
  EXPECT_EQ(c.delivery.upstreams.at(0).port, 2465);
}

TEST(ConfigDelivery, MaildirAloneIsEnough) {
  const Config c = parse(kMinimal + "upstreams:\n  - { name: local, kind: maildir, path: /srv/mail }\n"
                                    "default_upstream: local\n");
  EXPECT_EQ(c.delivery.upstreams.at(0).maildir, "/srv/mail");
}

TEST(ConfigDelivery, RewriteAddressesAreChecked) {
  EXPECT_EQ(error_of(kMinimal + "upstreams:\n  - { name: a, host: mx.example.net,\n"
                                "      rewrite: { reply_to: support } }\ndefault_upstream: a\n"),
            "postern.yaml:5: upstreams[0].rewrite.reply_to: invalid address \"support\": "
            "missing @");
}

TEST(ConfigDelivery, TyposInDeliveryKeysGetSuggestions) {
  EXPECT_EQ(error_of(kMinimal + "delivery:\n  wrokers: 4\n"),
            "postern.yaml:4: unknown key \"delivery.wrokers\" (did you mean \"workers\"?)");
  EXPECT_EQ(error_of(kMinimal + kProvider + "route:\n  - { sender: a@b.example, upstream: provider }\n"),
            "postern.yaml:6: unknown key \"route\" (did you mean \"routes\"?)");
  EXPECT_EQ(error_of(kMinimal + "upstreams:\n  - { name: a, host: mx.example.net, securty: tls }\n"
                                "default_upstream: a\n"),
            "postern.yaml:4: unknown key \"upstreams[0].securty\" (did you mean \"security\"?)");
}

}  // namespace
}  // namespace postern::config
