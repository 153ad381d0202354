// The delivery section: delivery:, upstreams:, routes: and default_upstream:.
#include "tests/unit/config_test_support.hpp"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
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
  EXPECT_EQ(d.routes[0].upstreams, std::vector<std::string>{"provider"});
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

// ---- pop_before_smtp ----

// An smtp upstream with the given pop_before_smtp keys (flow style) and the password in $POP_PW.
std::string with_pop(const std::string& keys) {
  return kMinimal + "upstreams:\n  - name: provider\n    host: smtp.provider.example\n    pop_before_smtp: { " +
         keys + " }\ndefault_upstream: provider\n";
}

const Environment kPopEnv = environment({{"POP_PW", "p0p-s3cret"}});

TEST(ConfigDelivery, PopBeforeSmtpIsAbsentByDefault) {
  EXPECT_FALSE(parse(kMinimal + kProvider).delivery.upstreams.at(0).pop_before_smtp.has_value());
  // A section whose contents are commented out is absent too.
  const Config c = parse(kMinimal + "upstreams:\n  - name: provider\n    host: smtp.provider.example\n"
                                    "    pop_before_smtp:\n    #  host: pop.provider.example\n"
                                    "default_upstream: provider\n");
  EXPECT_FALSE(c.delivery.upstreams.at(0).pop_before_smtp.has_value());
}

TEST(ConfigDelivery, PopBeforeSmtpEveryKeyIsParsed) {
  const TempFile secret("p0p-f1le\n");
  const Config c = parse(kMinimal + R"(
upstreams:
  - name: provider
    host: smtp.provider.example
    timeout_seconds: 20
    pop_before_smtp:
      host: pop.provider.example
      port: 1110
      security: starttls
      verify_certificate: true
      ca_file: /etc/ssl/certs/provider.pem
      username: relay@example.com
      password_file: )" + secret.path() + R"(
      interval_seconds: 300
      wait_seconds: 5
default_upstream: provider
)");
  const delivery::Upstream& u = c.delivery.upstreams.at(0);
  ASSERT_TRUE(u.pop_before_smtp.has_value());
  const delivery::PopBeforeSmtp& pop = *u.pop_before_smtp;
  EXPECT_EQ(pop.host, "pop.provider.example");
  EXPECT_EQ(pop.port, 1110);
  EXPECT_EQ(pop.security, delivery::UpstreamSecurity::StartTls);
  EXPECT_TRUE(pop.verify_certificate);
  EXPECT_EQ(pop.ca_file, "/etc/ssl/certs/provider.pem");
  EXPECT_EQ(pop.username, "relay@example.com");
  EXPECT_EQ(pop.password, "p0p-f1le");
  EXPECT_EQ(pop.interval_seconds, 300u);
  EXPECT_EQ(pop.wait_seconds, 5u);
  EXPECT_EQ(u.timeout_seconds, 20u);  // the POP3 steps' deadline too
  // The upstream's own keys are untouched.
  EXPECT_EQ(u.username, "");
  EXPECT_EQ(u.port, 587);
}

TEST(ConfigDelivery, PopBeforeSmtpDefaults) {
  const Config c = parse(with_pop("host: pop.provider.example, username: u, password_env: POP_PW"), kPopEnv);
  const delivery::PopBeforeSmtp& pop = c.delivery.upstreams.at(0).pop_before_smtp.value();
  EXPECT_EQ(pop.port, 995);
  EXPECT_EQ(pop.security, delivery::UpstreamSecurity::Tls);
  EXPECT_TRUE(pop.verify_certificate);
  EXPECT_EQ(pop.ca_file, "");
  EXPECT_EQ(pop.password, "p0p-s3cret");
  EXPECT_EQ(pop.interval_seconds, 60u);
  EXPECT_EQ(pop.wait_seconds, 1u);
}

TEST(ConfigDelivery, PopBeforeSmtpPortFollowsSecurity) {
  for (const auto& [security, host, port] : std::vector<std::tuple<std::string, std::string, int>>{
           {"tls", "pop.provider.example", 995}, {"starttls", "pop.provider.example", 110}, {"none", "127.0.0.1", 110}}) {
    const Config c = parse(with_pop("host: " + host + ", security: " + security + ", username: u, password_env: POP_PW"),
                           kPopEnv);
    EXPECT_EQ(c.delivery.upstreams.at(0).pop_before_smtp->port, port) << security;
  }
  const Config c = parse(with_pop("host: pop.provider.example, port: 10995, username: u, password_env: POP_PW"), kPopEnv);
  EXPECT_EQ(c.delivery.upstreams.at(0).pop_before_smtp->port, 10995);
}

TEST(ConfigDelivery, PopBeforeSmtpIntervalAndWaitMayBeZero) {
  const Config c = parse(with_pop("host: pop.provider.example, username: u, password_env: POP_PW, "
                                  "interval_seconds: 0, wait_seconds: 0"),
                         kPopEnv);
  EXPECT_EQ(c.delivery.upstreams.at(0).pop_before_smtp->interval_seconds, 0u);
  EXPECT_EQ(c.delivery.upstreams.at(0).pop_before_smtp->wait_seconds, 0u);
}

TEST(ConfigDelivery, PopBeforeSmtpErrors) {
  const std::string base = "host: pop.provider.example, username: u, password_env: POP_PW";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"username: u, password_env: POP_PW", "upstreams[0].pop_before_smtp.host: required"},
      {"host: pop.provider.example, password_env: POP_PW", "upstreams[0].pop_before_smtp.username: required"},
      {"host: pop.provider.example, username: u",
       "upstreams[0].pop_before_smtp.username: needs password_file or password_env"},
      {base + ", password_file: /nonexistent/pop-password",
       "upstreams[0].pop_before_smtp.password_env: cannot be combined with password_file"},
      {"host: pop.provider.example, username: u, password: s3cret",
       "upstreams[0].pop_before_smtp.password: inline passwords are not allowed: use password_file or "
       "password_env"},
      {"host: pop.provider.example, username: u, password_env: NOT_SET",
       "upstreams[0].pop_before_smtp.password_env: environment variable NOT_SET is not set"},
      {"host: pop.provider.example, username: u, password_file: /nonexistent/pop-password",
       "upstreams[0].pop_before_smtp.password_file: cannot read /nonexistent/pop-password: No such file or "
       "directory"},
      {"host: \"pop provider\", username: u, password_env: POP_PW",
       "upstreams[0].pop_before_smtp.host: expected a host name or IP address, got \"pop provider\""},
      {base + ", security: ssl",
       "upstreams[0].pop_before_smtp.security: expected one of none, starttls, tls, got \"ssl\""},
      {base + ", security: none",
       "upstreams[0].pop_before_smtp.security: none would send the password of username in clear to "
       "\"pop.provider.example\": use starttls or tls (none with username is for loopback hosts only: "
       "localhost, 127.0.0.0/8, ::1)"},
      {"host: localhost, security: none, verify_certificate: false, username: u, password_env: POP_PW",
       "upstreams[0].pop_before_smtp.verify_certificate: not allowed with security: none"},
      {base + ", verify_certificate: false, ca_file: /etc/ssl/ca.pem",
       "upstreams[0].pop_before_smtp.ca_file: not allowed with verify_certificate: false"},
      {base + ", verify_certificate: maybe",
       "upstreams[0].pop_before_smtp.verify_certificate: expected true or false, got \"maybe\""},
      {base + ", port: 0", "upstreams[0].pop_before_smtp.port: expected an integer from 1 to 65535, got \"0\""},
      {base + ", interval_seconds: soon",
       "upstreams[0].pop_before_smtp.interval_seconds: expected a non-negative integer, got \"soon\""},
      {base + ", wait_seconds: 301", "upstreams[0].pop_before_smtp.wait_seconds: expected an integer from 0 to 300, got \"301\""},
      {base + ", intervall_seconds: 30",
       "unknown key \"upstreams[0].pop_before_smtp.intervall_seconds\" (did you mean \"interval_seconds\"?)"},
  };
  for (const auto& [keys, error] : cases) {
    SCOPED_TRACE(keys);
    EXPECT_EQ(error_of(with_pop(keys), kPopEnv), "postern.yaml:6: " + error);
  }
  EXPECT_EQ(error_of(kMinimal + "upstreams:\n  - name: provider\n    host: smtp.provider.example\n"
                                "    pop_before_smtp: pop.provider.example\ndefault_upstream: provider\n"),
            "postern.yaml:6: upstreams[0].pop_before_smtp: expected a mapping, got \"pop.provider.example\"");
}

TEST(ConfigDelivery, PopBeforeSmtpOnlyForSmtpUpstreams) {
  EXPECT_EQ(error_of(kMinimal + "upstreams:\n  - name: local\n    kind: maildir\n    path: /srv/mail\n"
                                "    pop_before_smtp: { host: pop.provider.example, username: u, password_env: POP_PW }\n"
                                "default_upstream: local\n",
                     kPopEnv),
            "postern.yaml:7: upstreams[0].pop_before_smtp: not allowed with kind: maildir");
}

TEST(ConfigDelivery, PopBeforeSmtpInClearToLoopbackOnly) {
  const Config c = parse(with_pop("host: \"::1\", security: none, username: u, password_env: POP_PW"), kPopEnv);
  EXPECT_EQ(c.delivery.upstreams.at(0).pop_before_smtp->security, delivery::UpstreamSecurity::None);
  EXPECT_TRUE(error_of(with_pop("host: 10.0.0.110, security: none, username: u, password_env: POP_PW"), kPopEnv)
                  .starts_with("postern.yaml:6: upstreams[0].pop_before_smtp.security: none would send the password"));
}

TEST(ConfigDelivery, PopBeforeSmtpErrorsNeverShowThePassword) {
  EXPECT_EQ(error_of(with_pop("host: pop.provider.example, username: u, password: p0p-s3cret")).find("p0p-s3cret"),
            std::string::npos);
  const TempFile secret("p0p-s3cret\n");
  const std::string later_error = kMinimal +
                                  "upstreams:\n  - name: provider\n    host: smtp.provider.example\n"
                                  "    pop_before_smtp: { host: pop.provider.example, username: u, password_file: " +
                                  secret.path() + " }\ndefault_upstream: other\n";
  EXPECT_EQ(error_of(later_error), "postern.yaml:7: default_upstream: no upstream named \"other\"");
}

}  // namespace
}  // namespace postern::config
