// Broken configurations, each paired with the exact one-line error it prints. The same pairs
// live as files in tests/fixtures/config/ (bad-<name>.yaml beside bad-<name>.error), checked here
// too, so an operator can read them as examples.
#include "tests/unit/config_test_support.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace postern::config {
namespace {

using namespace test_support;
namespace fs = std::filesystem;

struct BadConfig {
  std::string name;
  std::string yaml;
  std::string error;  // the whole message, exactly
};

// Each of these is also tests/fixtures/config/bad-<name>.yaml with its .error beside it.
const std::vector<BadConfig> kBadConfigs = {
    {"unknown-key",
     R"yaml(database:
  url: postgresql://postern@db/postern
limits:
  max_recipents: 10
)yaml",
     R"err(postern.yaml:4: unknown key "limits.max_recipents" (did you mean "max_recipients"?))err"},
    {"unknown-section",
     R"yaml(database:
  url: postgresql://postern@db/postern
limts:
  max_recipients: 10
)yaml",
     R"err(postern.yaml:3: unknown key "limts" (did you mean "limits"?))err"},
    {"unknown-key-no-suggestion",
     R"yaml(database:
  url: postgresql://postern@db/postern
colour: blue
)yaml",
     R"err(postern.yaml:3: unknown key "colour")err"},
    {"unknown-key-swapped-letters",
     R"yaml(database:
  url: postgresql://postern@db/postern
limits:
  max_erorrs: 4
)yaml",
     R"err(postern.yaml:4: unknown key "limits.max_erorrs" (did you mean "max_errors"?))err"},
    {"misspelt-section-before-missing-url",
     R"yaml(databse:
  url: postgresql://postern@db/postern
)yaml",
     R"err(postern.yaml:1: unknown key "databse" (did you mean "database"?))err"},
    {"misspelt-tls-before-implicit",
     R"yaml(database:
  url: postgresql://postern@db/postern
tsl:
  certificate: /etc/postern/tls.crt
  key: /etc/postern/tls.key
listeners:
  - { port: 9465, tls: implicit }
)yaml",
     R"err(postern.yaml:3: unknown key "tsl" (did you mean "tls"?))err"},
    {"misspelt-tls-key",
     R"yaml(database:
  url: postgresql://postern@db/postern
tls:
  certificate: /etc/postern/tls.crt
  kye: /etc/postern/tls.key
)yaml",
     R"err(postern.yaml:5: unknown key "tls.kye" (did you mean "key"?))err"},
    {"unknown-listener-key",
     R"yaml(database:
  url: postgresql://postern@db/postern
listeners:
  - address: 0.0.0.0
    prot: 9000
)yaml",
     R"err(postern.yaml:5: unknown key "listeners[0].prot" (did you mean "port"?))err"},
    {"duplicate-key",
     R"yaml(database:
  url: postgresql://postern@db/postern
limits:
  max_errors: 5
  max_errors: 6
)yaml",
     R"err(postern.yaml:5: duplicate key "limits.max_errors")err"},
    {"wrong-type-integer",
     R"yaml(database:
  url: postgresql://postern@db/postern
limits:
  max_recipients: lots
)yaml",
     R"err(postern.yaml:4: limits.max_recipients: expected a positive integer, got "lots")err"},
    {"negative-integer",
     R"yaml(database:
  url: postgresql://postern@db/postern
limits:
  max_connections: -5
)yaml",
     R"err(postern.yaml:4: limits.max_connections: expected a positive integer, got "-5")err"},
    {"zero-size",
     R"yaml(database:
  url: postgresql://postern@db/postern
limits: { max_message_size: 0 }
)yaml",
     R"err(postern.yaml:3: limits.max_message_size: expected a positive integer, got "0")err"},
    {"integer-too-large",
     R"yaml(database:
  url: postgresql://postern@db/postern
limits:
  max_recipients: 4294967296
)yaml",
     R"err(postern.yaml:4: limits.max_recipients: expected an integer from 1 to 4294967295, got "4294967296")err"},
    {"integer-no-value",
     R"yaml(database:
  url: postgresql://postern@db/postern
limits:
  max_errors:
)yaml",
     R"err(postern.yaml:4: limits.max_errors: expected a positive integer, got nothing)err"},
    {"integer-is-list",
     R"yaml(database:
  url: postgresql://postern@db/postern
limits:
  max_errors: [5]
)yaml",
     R"err(postern.yaml:4: limits.max_errors: expected a positive integer, got a sequence)err"},
    {"zero-pool-size",
     R"yaml(database:
  url: postgresql://postern@db/postern
  pool_size: 0
)yaml",
     R"err(postern.yaml:3: database.pool_size: expected a positive integer, got "0")err"},
    {"argon2-memory-too-small",
     R"yaml(database:
  url: postgresql://postern@db/postern
auth:
  argon2_memory_kib: 4
)yaml",
     R"err(postern.yaml:4: auth.argon2_memory_kib: expected an integer of at least 8, got "4")err"},
    {"auth-failures-per-ip-renamed",
     R"yaml(database:
  url: postgresql://postern@db/postern
auth:
  failures_per_ip: 10
)yaml",
     R"err(postern.yaml:4: auth.failures_per_ip: renamed failures_per_network: failures are counted per client network (an IPv4 address, an IPv6 /64))err"},
    {"auth-failures-per-user-removed",
     R"yaml(database:
  url: postgresql://postern@db/postern
auth:
  failure_window_seconds: 600
  failures_per_user: 10
)yaml",
     R"err(postern.yaml:5: auth.failures_per_user: removed: failures no longer refuse a user from every address; see failures_per_user_network, user_delay_ms and checks_per_user)err"},
    {"port-zero",
     R"yaml(database:
  url: postgresql://postern@db/postern
listeners:
  - port: 0
)yaml",
     R"err(postern.yaml:4: listeners[0].port: expected an integer from 1 to 65535, got "0")err"},
    {"port-too-large",
     R"yaml(database:
  url: postgresql://postern@db/postern
listeners:
  - { address: 0.0.0.0, port: 9000 }
  - { address: 0.0.0.0, port: 70000 }
)yaml",
     R"err(postern.yaml:5: listeners[1].port: expected an integer from 1 to 65535, got "70000")err"},
    {"bool-yes",
     R"yaml(database:
  url: postgresql://postern@db/postern
submission:
  add_date: yes
)yaml",
     R"err(postern.yaml:4: submission.add_date: expected true or false, got "yes")err"},
    {"listener-tls-unknown",
     R"yaml(database:
  url: postgresql://postern@db/postern
listeners:
  - tls: ssl
)yaml",
     R"err(postern.yaml:4: listeners[0].tls: expected one of starttls, implicit, got "ssl")err"},
    {"log-level-unknown",
     R"yaml(database:
  url: postgresql://postern@db/postern
logging:
  level: verbose
)yaml",
     R"err(postern.yaml:4: logging.level: expected one of debug, info, warning, error, got "verbose")err"},
    {"listener-address-not-an-ip",
     R"yaml(database:
  url: postgresql://postern@db/postern
listeners:
  - address: localhost
)yaml",
     R"err(postern.yaml:4: listeners[0].address: expected an IPv4 or IPv6 address, got "localhost")err"},
    {"listeners-empty",
     R"yaml(database:
  url: postgresql://postern@db/postern
listeners: []
)yaml",
     R"err(postern.yaml:3: listeners: at least one listener is required)err"},
    {"listeners-not-a-list",
     R"yaml(database:
  url: postgresql://postern@db/postern
listeners:
  port: 9000
)yaml",
     R"err(postern.yaml:3: listeners: expected a sequence, got a mapping)err"},
    {"listener-not-a-mapping",
     R"yaml(database:
  url: postgresql://postern@db/postern
listeners:
  - 9000
)yaml",
     R"err(postern.yaml:4: listeners[0]: expected a mapping, got "9000")err"},
    {"section-not-a-mapping",
     R"yaml(database:
  url: postgresql://postern@db/postern
limits: 100
)yaml",
     R"err(postern.yaml:3: limits: expected a mapping, got "100")err"},
    {"top-level-not-a-mapping",
     R"yaml(- database
- limits
)yaml",
     R"err(postern.yaml:1: expected a mapping of settings, got a sequence)err"},
    {"two-documents",
     R"yaml(database:
  url: postgresql://postern@db/postern
---
limits: {}
)yaml",
     R"err(postern.yaml:4: expected one YAML document, found more)err"},
    {"yaml-syntax-error",
     R"yaml(database:
  url: postgresql://postern@db/postern
limits:
  max_recipients: [1
)yaml",
     R"err(postern.yaml:5: YAML syntax error: end of sequence flow not found)err"},
    {"yaml-tab-indent",
     R"yaml(database:
  url: postgresql://postern@db/postern
limits:
	max_recipients: 10
)yaml",
     R"err(postern.yaml:4: YAML syntax error: illegal map value (tabs cannot indent YAML))err"},
    {"hostname-not-a-domain",
     R"yaml(database:
  url: postgresql://postern@db/postern
hostname: relay example.com
)yaml",
     R"err(postern.yaml:3: hostname: expected a domain name, got "relay example.com")err"},
    {"hostname-with-control-character",
     R"yaml(database:
  url: postgresql://postern@db/postern
hostname: "relay\r\nexample.com"
)yaml",
     R"err(postern.yaml:3: hostname: expected a domain name, got "relay\x0d\nexample.com")err"},
    {"subaddress-delimiter-too-long",
     R"yaml(database:
  url: postgresql://postern@db/postern
policy:
  subaddress_delimiter: "++"
)yaml",
     R"err(postern.yaml:4: policy.subaddress_delimiter: expected "" or one of the characters +-_.=!#$%&'*/?^`{|}~, got "++")err"},
    {"subaddress-delimiter-letter",
     R"yaml(database:
  url: postgresql://postern@db/postern
policy:
  subaddress_delimiter: x
)yaml",
     R"err(postern.yaml:4: policy.subaddress_delimiter: expected "" or one of the characters +-_.=!#$%&'*/?^`{|}~, got "x")err"},
    {"missing-database-url",
     R"yaml(limits:
  max_recipients: 10
)yaml",
     R"err(postern.yaml: database.url: required (or database.url_file, or POSTERN_DATABASE_URL))err"},
    {"empty-database-url",
     R"yaml(database:
  url: ""
)yaml",
     R"err(postern.yaml:2: database.url: must not be empty)err"},
    {"database-url-is-mapping",
     R"yaml(database:
  url: { host: db }
)yaml",
     R"err(postern.yaml:2: database.url: expected a string, got a mapping)err"},
    {"url-and-url-file",
     R"yaml(database:
  url: postgresql://postern@db/postern
  url_file: /run/secrets/database-url
)yaml",
     R"err(postern.yaml:3: database.url_file: cannot be combined with database.url)err"},
    {"unreadable-url-file",
     R"yaml(database:
  url_file: /nonexistent/database-url
)yaml",
     R"err(postern.yaml:2: database.url_file: cannot read /nonexistent/database-url: No such file or directory)err"},
    {"tls-without-key",
     R"yaml(database:
  url: postgresql://postern@db/postern
tls:
  certificate: /etc/postern/tls.crt
)yaml",
     R"err(postern.yaml:3: tls.key: required with tls.certificate)err"},
    {"tls-without-certificate",
     R"yaml(database:
  url: postgresql://postern@db/postern
tls:
  key: /etc/postern/tls.key
)yaml",
     R"err(postern.yaml:3: tls.certificate: required with tls.key)err"},
    {"tls-empty",
     R"yaml(database:
  url: postgresql://postern@db/postern
tls: {}
)yaml",
     R"err(postern.yaml:3: tls: expected certificate and key)err"},
    {"implicit-tls-without-tls-section",
     R"yaml(database:
  url: postgresql://postern@db/postern
listeners:
  - { port: 9000, tls: starttls }
  - { port: 9465, tls: implicit }
)yaml",
     R"err(postern.yaml:5: listeners[1].tls: implicit needs a tls section (certificate and key))err"},
    {"upstream-security-unknown",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - name: provider
    host: smtp.provider.example
    security: ssl
default_upstream: provider
)yaml",
     R"err(postern.yaml:6: upstreams[0].security: expected one of none, starttls, tls, got "ssl")err"},
    {"upstream-kind-unknown",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - { name: local, kind: mbox }
default_upstream: local
)yaml",
     R"err(postern.yaml:4: upstreams[0].kind: expected one of smtp, maildir, hpfeeds, amqp, got "mbox")err"},
    {"upstream-inline-password",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - name: provider
    host: smtp.provider.example
    username: relay@example.com
    password: s3cret
default_upstream: provider
)yaml",
     R"err(postern.yaml:7: upstreams[0].password: inline passwords are not allowed: use password_file or password_env)err"},
    {"upstream-misspelt-key",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - name: provider
    host: smtp.provider.example
    username: relay@example.com
    pasword_file: /run/secrets/provider-password
default_upstream: provider
)yaml",
     R"err(postern.yaml:7: unknown key "upstreams[0].pasword_file" (did you mean "password_file"?))err"},
    {"misspelt-upstreams-section",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstream:
  - { name: provider, host: smtp.provider.example }
)yaml",
     R"err(postern.yaml:3: unknown key "upstream" (did you mean "upstreams"?))err"},
    {"upstream-without-name",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - host: smtp.provider.example
default_upstream: provider
)yaml",
     R"err(postern.yaml:4: upstreams[0].name: required)err"},
    {"upstream-duplicate-name",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - { name: provider, host: smtp.provider.example }
  - { name: provider, kind: maildir, path: /var/lib/postern/maildir }
default_upstream: provider
)yaml",
     R"err(postern.yaml:5: upstreams[1].name: duplicate upstream name "provider")err"},
    {"upstream-smtp-without-host",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - name: provider
    port: 587
default_upstream: provider
)yaml",
     R"err(postern.yaml:4: upstreams[0].host: required with kind: smtp)err"},
    {"upstream-host-not-a-name",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - { name: provider, host: "smtp provider" }
default_upstream: provider
)yaml",
     R"err(postern.yaml:4: upstreams[0].host: expected a host name or IP address, got "smtp provider")err"},
    {"upstream-smtp-with-path",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - name: provider
    host: smtp.provider.example
    path: /var/lib/postern/maildir
default_upstream: provider
)yaml",
     R"err(postern.yaml:6: upstreams[0].path: not allowed with kind: smtp (it is for kind: maildir))err"},
    {"upstream-maildir-with-host",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - name: local
    kind: maildir
    path: /var/lib/postern/maildir
    host: smtp.provider.example
default_upstream: local
)yaml",
     R"err(postern.yaml:7: upstreams[0].host: not allowed with kind: maildir)err"},
    {"upstream-maildir-relative-path",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - { name: local, kind: maildir, path: maildir }
default_upstream: local
)yaml",
     R"err(postern.yaml:4: upstreams[0].path: expected an absolute path, got "maildir")err"},
    {"upstream-verify-with-security-none",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - name: smarthost
    host: 10.0.0.25
    security: none
    verify_certificate: false
default_upstream: smarthost
)yaml",
     R"err(postern.yaml:7: upstreams[0].verify_certificate: not allowed with security: none)err"},
    {"upstream-username-with-security-none",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - name: smarthost
    host: 10.0.0.25
    security: none
    username: relay@example.com
    password_env: SMARTHOST_PASSWORD
default_upstream: smarthost
)yaml",
     R"err(postern.yaml:6: upstreams[0].security: none would send the password of username in clear to "10.0.0.25": use starttls or tls (none with username is for loopback hosts only: localhost, 127.0.0.0/8, ::1))err"},
    {"upstream-username-without-password",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - name: provider
    host: smtp.provider.example
    username: relay@example.com
default_upstream: provider
)yaml",
     R"err(postern.yaml:6: upstreams[0].username: needs password_file or password_env)err"},
    {"upstream-password-file-and-env",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - name: provider
    host: smtp.provider.example
    username: relay@example.com
    password_file: /run/secrets/provider-password
    password_env: PROVIDER_PASSWORD
default_upstream: provider
)yaml",
     R"err(postern.yaml:8: upstreams[0].password_env: cannot be combined with password_file)err"},
    {"upstream-unreadable-password-file",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - name: provider
    host: smtp.provider.example
    username: relay@example.com
    password_file: /nonexistent/provider-password
default_upstream: provider
)yaml",
     R"err(postern.yaml:7: upstreams[0].password_file: cannot read /nonexistent/provider-password: No such file or directory)err"},
    {"upstream-password-env-unset",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - name: provider
    host: smtp.provider.example
    username: relay@example.com
    password_env: PROVIDER_PASSWORD
default_upstream: provider
)yaml",
     R"err(postern.yaml:7: upstreams[0].password_env: environment variable PROVIDER_PASSWORD is not set)err"},
    {"route-unknown-upstream",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - { name: provider, host: smtp.provider.example }
routes:
  - { sender_domain: example.com, upstream: x }
default_upstream: provider
)yaml",
     R"err(postern.yaml:6: routes[0].upstream: no upstream named "x")err"},
    {"route-sender-and-domain",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - { name: provider, host: smtp.provider.example }
routes:
  - { sender: alerts@example.org, sender_domain: example.org, upstream: provider }
default_upstream: provider
)yaml",
     R"err(postern.yaml:6: routes[0].sender_domain: cannot be combined with sender (one match per route))err"},
    {"route-without-sender",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - { name: provider, host: smtp.provider.example }
routes:
  - upstream: provider
default_upstream: provider
)yaml",
     R"err(postern.yaml:6: routes[0]: expected sender, sender_domain or recipient_domain)err"},
    {"route-invalid-sender",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - { name: provider, host: smtp.provider.example }
routes:
  - { sender: alerts, upstream: provider }
default_upstream: provider
)yaml",
     R"err(postern.yaml:6: routes[0].sender: invalid address "alerts": missing @)err"},
    {"default-upstream-missing",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - { name: provider, host: smtp.provider.example }
)yaml",
     R"err(postern.yaml: default_upstream: required when upstreams are configured)err"},
    {"default-upstream-unknown",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - { name: provider, host: smtp.provider.example }
default_upstream: provder
)yaml",
     R"err(postern.yaml:5: default_upstream: no upstream named "provder")err"},
    {"routes-without-upstreams",
     R"yaml(database:
  url: postgresql://postern@db/postern
routes:
  - { sender_domain: example.com, upstream: provider }
)yaml",
     R"err(postern.yaml:3: routes: not allowed without upstreams (delivery is disabled))err"},
    {"default-upstream-without-upstreams",
     R"yaml(database:
  url: postgresql://postern@db/postern
default_upstream: provider
)yaml",
     R"err(postern.yaml:3: default_upstream: not allowed without upstreams (delivery is disabled))err"},
    {"max-retry-below-first-retry",
     R"yaml(database:
  url: postgresql://postern@db/postern
delivery:
  first_retry_seconds: 600
  max_retry_seconds: 300
)yaml",
     R"err(postern.yaml:5: delivery.max_retry_seconds: must be at least first_retry_seconds (600), got 300)err"},
    {"first-retry-above-default-max",
     R"yaml(database:
  url: postgresql://postern@db/postern
delivery:
  first_retry_seconds: 7200
)yaml",
     R"err(postern.yaml:3: delivery.max_retry_seconds: must be at least first_retry_seconds (7200), got 3600)err"},
    {"sending-limits-day-not-longer-than-hour",
     R"yaml(database:
  url: postgresql://postern@db/postern
sending_limits:
  hour_seconds: 600
  day_seconds: 600
)yaml",
     R"err(postern.yaml:5: sending_limits.day_seconds: day_seconds (600) must be longer than hour_seconds (600))err"},
};

TEST(ConfigErrors, EachBadConfigPrintsItsExactLine) {
  for (const BadConfig& bad : kBadConfigs) {
    SCOPED_TRACE(bad.name);
    EXPECT_EQ(error_of(bad.yaml), bad.error);
  }
}

TEST(ConfigErrors, EachFixturePrintsTheErrorBesideIt) {
  const fs::path dir = fs::path(POSTERN_SOURCE_DIR) / "tests" / "fixtures" / "config";
  std::size_t count = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const fs::path path = entry.path();
    if (path.extension() != ".yaml" || !path.filename().string().starts_with("bad-")) continue;
    SCOPED_TRACE(path.string());
    fs::path expected_path = path;
    expected_path.replace_extension(".error");
    ASSERT_TRUE(fs::exists(expected_path));
    std::string expected = read_text(expected_path);
    if (!expected.empty() && expected.back() == '\n') expected.pop_back();
    EXPECT_EQ(error_of(read_text(path)), expected);
    ++count;
  }
  EXPECT_EQ(count, kBadConfigs.size());
}

TEST(ConfigErrors, EveryErrorIsOneLine) {
  for (const BadConfig& bad : kBadConfigs) {
    EXPECT_EQ(bad.error.find('\n'), std::string::npos) << bad.name;
  }
}

TEST(ConfigErrors, TypoInTopLevelKeySuggestsOnlyClosePeers) {
  EXPECT_EQ(error_of(kMinimal + "thread:\n  io: 1\n"),
            "postern.yaml:3: unknown key \"thread\" (did you mean \"threads\"?)");
  EXPECT_EQ(error_of(kMinimal + "x: 1\n"), "postern.yaml:3: unknown key \"x\"");
}

}  // namespace
}  // namespace postern::config
