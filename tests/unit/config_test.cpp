#include "server/config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace postern::config {
namespace {

namespace fs = std::filesystem;

const std::string kMinimal = "database:\n  url: postgresql://postern@db/postern\n";

Environment environment(std::map<std::string, std::string> variables = {}) {
  return [variables](const std::string& name) -> std::optional<std::string> {
    const auto it = variables.find(name);
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
}

Config parse(const std::string& text, const Environment& env = environment()) {
  return parse_config(text, "postern.yaml", env);
}

// The message of the ConfigError that parsing `text` throws, or "" when it parses.
std::string error_of(const std::string& text, const Environment& env = environment()) {
  try {
    parse(text, env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A file in a fresh temporary directory, removed with it.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("postern-config-test-" + std::to_string(::getpid()) + "-" + test->name());
    fs::create_directories(dir_);
    path_ = dir_ / "file";
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() { fs::remove_all(dir_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::string path() const { return path_.string(); }

 private:
  fs::path dir_;
  fs::path path_;
};

std::string system_hostname() {
  char name[HOST_NAME_MAX + 1] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

TEST(ConfigDefaults, MinimalFileHasEveryDefault) {
  const Config c = parse(kMinimal);
  EXPECT_EQ(c.hostname, system_hostname());
  EXPECT_EQ(c.database_url, "postgresql://postern@db/postern");
  EXPECT_EQ(c.database_pool_size, 8u);
  EXPECT_EQ(c.database_timeout_seconds, 5u);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].address, "0.0.0.0");
  EXPECT_EQ(c.listeners[0].port, 9000);
  EXPECT_EQ(c.listeners[0].tls, ListenerTls::StartTls);
  EXPECT_FALSE(c.listeners[0].allow_plaintext_auth_on_loopback);
  EXPECT_FALSE(c.tls);
  EXPECT_EQ(c.http.address, "0.0.0.0");
  EXPECT_EQ(c.http.port, 9100);
  EXPECT_EQ(c.max_message_size, 25u * 1024 * 1024);
  EXPECT_EQ(c.max_recipients, 100u);
  EXPECT_EQ(c.max_errors, 5u);
  EXPECT_EQ(c.max_connections, 1000u);
  EXPECT_EQ(c.max_connections_per_ip, 50u);
  EXPECT_EQ(c.command_timeout_seconds, 300u);
  EXPECT_EQ(c.data_timeout_seconds, 600u);
  EXPECT_EQ(c.argon2_memory_kib, 19456u);
  EXPECT_EQ(c.argon2_iterations, 2u);
  EXPECT_EQ(c.auth_failures_per_ip, 10u);
  EXPECT_EQ(c.auth_failures_per_user, 10u);
  EXPECT_EQ(c.auth_failure_window_seconds, 900u);
  EXPECT_EQ(c.auth_failure_delay_ms, 1000u);
  EXPECT_FALSE(c.local_part_case_sensitive);
  EXPECT_EQ(c.subaddress_delimiter, "+");
  EXPECT_TRUE(c.check_header_from);
  EXPECT_TRUE(c.add_message_id);
  EXPECT_TRUE(c.add_date);
  EXPECT_TRUE(c.add_received);
  EXPECT_FALSE(c.add_x_peer);
  EXPECT_EQ(c.log_level, LogLevel::Info);
  EXPECT_EQ(c.shutdown_grace_seconds, 30u);
  EXPECT_EQ(c.io_threads, 0u);
}

TEST(ConfigDefaults, EmptyFileIsEnoughWithTheUrlInTheEnvironment) {
  const Config c = parse("", environment({{"POSTERN_DATABASE_URL", "postgresql://db/p"}}));
  EXPECT_EQ(c.database_url, "postgresql://db/p");
  EXPECT_EQ(describe(c), describe(parse(kMinimal, environment({{"POSTERN_DATABASE_URL",
                                                                  "postgresql://db/p"}}))));
}

TEST(ConfigDefaults, SectionWithNoValueKeepsDefaults) {
  // What an edited copy of the example looks like with a section's keys commented out.
  const Config c = parse(kMinimal + "tls:\nlimits:\n  # max_recipients: 10\n");
  EXPECT_FALSE(c.tls);
  EXPECT_EQ(c.max_recipients, 100u);
}

TEST(Config, EveryKeyIsParsed) {
  const Config c = parse(R"(
hostname: relay.example.com
database:
  url: postgresql://postern@db/postern
  pool_size: 16
  timeout_seconds: 7
listeners:
  - { address: 127.0.0.1, port: 9000, tls: starttls, allow_plaintext_auth_on_loopback: true }
  - { address: "::", port: 9465, tls: implicit }
tls:
  certificate: /etc/postern/tls.crt
  key: /etc/postern/tls.key
limits:
  max_message_size: 1048576
  max_recipients: 20
  max_errors: 3
  max_connections: 200
  max_connections_per_ip: 5
  command_timeout_seconds: 60
  data_timeout_seconds: 120
auth:
  argon2_memory_kib: 65536
  argon2_iterations: 3
  failures_per_ip: 20
  failures_per_user: 4
  failure_window_seconds: 600
  failure_delay_ms: 0
policy:
  local_part_case_sensitive: true
  subaddress_delimiter: "-"
  check_header_from: false
submission:
  add_message_id: false
  add_date: false
  add_received: false
  add_x_peer: true
logging:
  level: debug
shutdown_grace_seconds: 0
threads:
  io: 2
)");
  EXPECT_EQ(c.hostname, "relay.example.com");
  EXPECT_EQ(c.database_url, "postgresql://postern@db/postern");
  EXPECT_EQ(c.database_pool_size, 16u);
  EXPECT_EQ(c.database_timeout_seconds, 7u);
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].address, "127.0.0.1");
  EXPECT_EQ(c.listeners[0].port, 9000);
  EXPECT_EQ(c.listeners[0].tls, ListenerTls::StartTls);
  EXPECT_TRUE(c.listeners[0].allow_plaintext_auth_on_loopback);
  EXPECT_EQ(c.listeners[1].address, "::");
  EXPECT_EQ(c.listeners[1].port, 9465);
  EXPECT_EQ(c.listeners[1].tls, ListenerTls::Implicit);
  EXPECT_FALSE(c.listeners[1].allow_plaintext_auth_on_loopback);
  ASSERT_TRUE(c.tls);
  EXPECT_EQ(c.tls->certificate_file, "/etc/postern/tls.crt");
  EXPECT_EQ(c.tls->key_file, "/etc/postern/tls.key");
  EXPECT_EQ(c.max_message_size, 1048576u);
  EXPECT_EQ(c.max_recipients, 20u);
  EXPECT_EQ(c.max_errors, 3u);
  EXPECT_EQ(c.max_connections, 200u);
  EXPECT_EQ(c.max_connections_per_ip, 5u);
  EXPECT_EQ(c.command_timeout_seconds, 60u);
  EXPECT_EQ(c.data_timeout_seconds, 120u);
  EXPECT_EQ(c.argon2_memory_kib, 65536u);
  EXPECT_EQ(c.argon2_iterations, 3u);
  EXPECT_EQ(c.auth_failures_per_ip, 20u);
  EXPECT_EQ(c.auth_failures_per_user, 4u);
  EXPECT_EQ(c.auth_failure_window_seconds, 600u);
  EXPECT_EQ(c.auth_failure_delay_ms, 0u);
  EXPECT_TRUE(c.local_part_case_sensitive);
  EXPECT_EQ(c.subaddress_delimiter, "-");
  EXPECT_FALSE(c.check_header_from);
  EXPECT_FALSE(c.add_message_id);
  EXPECT_FALSE(c.add_date);
  EXPECT_FALSE(c.add_received);
  EXPECT_TRUE(c.add_x_peer);
  EXPECT_EQ(c.log_level, LogLevel::Debug);
  EXPECT_EQ(c.shutdown_grace_seconds, 0u);
  EXPECT_EQ(c.io_threads, 2u);
}

TEST(Config, EdgeValuesAreAccepted) {
  const Config c = parse(kMinimal + R"(
listeners:
  - { port: 1 }
  - { port: 65535 }
limits:
  max_message_size: 18446744073709551615
policy:
  subaddress_delimiter: ""
logging:
  level: error
)");
  EXPECT_EQ(c.listeners[0].port, 1);
  EXPECT_EQ(c.listeners[1].port, 65535);
  EXPECT_EQ(c.max_message_size, 18446744073709551615u);
  EXPECT_EQ(c.subaddress_delimiter, "");
  EXPECT_EQ(c.log_level, LogLevel::Error);
}

TEST(ConfigHttp, AddressAndPortAreRead) {
  const Config c = parse(kMinimal + "http:\n  address: \"::1\"\n  port: 9191\n");
  EXPECT_EQ(c.http.address, "::1");
  EXPECT_EQ(c.http.port, 9191);
  EXPECT_NE(describe(c).find(" http=[::1]:9191 "), std::string::npos) << describe(c);
}

TEST(ConfigHttp, PortZeroDisablesTheEndpoint) {
  const Config c = parse(kMinimal + "http: { port: 0 }\n");
  EXPECT_EQ(c.http.port, 0);
  EXPECT_NE(describe(c).find(" http=off "), std::string::npos) << describe(c);
}

TEST(ConfigHttp, BadValuesNameTheKey) {
  EXPECT_EQ(error_of(kMinimal + "http:\n  port: 70000\n"),
            "postern.yaml:4: http.port: expected an integer from 0 to 65535, got \"70000\"");
  EXPECT_EQ(error_of(kMinimal + "http:\n  address: localhost\n"),
            "postern.yaml:4: http.address: expected an IPv4 or IPv6 address, got \"localhost\"");
  EXPECT_EQ(error_of(kMinimal + "http:\n  prot: 9100\n"),
            "postern.yaml:4: unknown key \"http.prot\" (did you mean \"port\"?)");
}

TEST(Config, StartTlsListenerWithoutTlsSectionIsAllowed) {
  // STARTTLS is then simply not offered; AUTH works only in plaintext on loopback, if allowed.
  const Config c = parse(kMinimal + "listeners:\n  - { port: 2525, tls: starttls }\n");
  EXPECT_FALSE(c.tls);
  EXPECT_EQ(c.listeners.at(0).tls, ListenerTls::StartTls);
}

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
     R"err(postern.yaml:4: upstreams[0].kind: expected one of smtp, maildir, got "mbox")err"},
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
     R"err(postern.yaml:6: routes[0].sender_domain: cannot be combined with sender)err"},
    {"route-without-sender",
     R"yaml(database:
  url: postgresql://postern@db/postern
upstreams:
  - { name: provider, host: smtp.provider.example }
routes:
  - upstream: provider
default_upstream: provider
)yaml",
     R"err(postern.yaml:6: routes[0]: expected sender or sender_domain)err"},
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

TEST(ConfigSecrets, EnvironmentWinsOverUrl) {
  const Config c = parse(kMinimal, environment({{"POSTERN_DATABASE_URL", "postgresql://env/db"}}));
  EXPECT_EQ(c.database_url, "postgresql://env/db");
}

TEST(ConfigSecrets, EnvironmentWinsOverUrlFileWhichIsThenNotRead) {
  const Config c = parse("database:\n  url_file: /nonexistent/database-url\n",
                         environment({{"POSTERN_DATABASE_URL", "postgresql://env/db"}}));
  EXPECT_EQ(c.database_url, "postgresql://env/db");
}

TEST(ConfigSecrets, EmptyEnvironmentVariableCountsAsUnset) {
  EXPECT_EQ(parse(kMinimal, environment({{"POSTERN_DATABASE_URL", ""}})).database_url,
            "postgresql://postern@db/postern");
}

TEST(ConfigSecrets, UrlAndUrlFileConflictEvenWhenTheEnvironmentIsSet) {
  EXPECT_EQ(error_of(kMinimal + "  url_file: /run/secrets/database-url\n",
                     environment({{"POSTERN_DATABASE_URL", "postgresql://env/db"}})),
            "postern.yaml:3: database.url_file: cannot be combined with database.url");
}

TEST(ConfigSecrets, UrlFileLosesItsTrailingNewline) {
  for (const std::string ending : {"", "\n", "\r\n", "\n\n"}) {
    SCOPED_TRACE(::testing::PrintToString(ending));
    const TempFile secret("postgresql://postern:s3cret@db/postern" + ending);
    const Config c = parse("database:\n  url_file: " + secret.path() + "\n");
    EXPECT_EQ(c.database_url, "postgresql://postern:s3cret@db/postern");
  }
}

TEST(ConfigSecrets, EmptyUrlFileIsAnError) {
  const TempFile secret("\n");
  EXPECT_EQ(error_of("database:\n  url_file: " + secret.path() + "\n"),
            "postern.yaml:2: database.url_file: " + secret.path() + " is empty");
}

TEST(ConfigSecrets, UnreadableUrlFileNamesTheReason) {
  const TempFile secret("postgresql://db/postern");
  const std::string dir = fs::path(secret.path()).parent_path().string();
  EXPECT_EQ(error_of("database:\n  url_file: " + dir + "\n"),
            "postern.yaml:2: database.url_file: cannot read " + dir + ": Is a directory");
}

TEST(ConfigSecrets, ErrorsNeverShowTheUrl) {
  const std::string text =
      "database:\n  url: postgresql://u:s3cret@db/p\nlimits: {max_errors: x}\n";
  EXPECT_EQ(error_of(text).find("s3cret"), std::string::npos);
}

TEST(ConfigLoad, ReadsTheFileWithTheProcessEnvironment) {
  const TempFile file(kMinimal + "limits:\n  max_recipients: 7\n");
  ::unsetenv("POSTERN_DATABASE_URL");
  const Config c = load_config(file.path());
  EXPECT_EQ(c.max_recipients, 7u);
  EXPECT_EQ(c.database_url, "postgresql://postern@db/postern");
  ::setenv("POSTERN_DATABASE_URL", "postgresql://env/db", 1);
  EXPECT_EQ(load_config(file.path()).database_url, "postgresql://env/db");
  ::unsetenv("POSTERN_DATABASE_URL");
}

TEST(ConfigLoad, ErrorsNameThePathGiven) {
  const TempFile file(kMinimal + "limits:\n  max_recipients: lots\n");
  try {
    load_config(file.path());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              file.path() + ":4: limits.max_recipients: expected a positive integer, got \"lots\"");
  }
}

TEST(ConfigLoad, MissingFile) {
  try {
    load_config("/nonexistent/postern.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/postern.yaml: cannot read: No such file or directory");
  }
}

TEST(ConfigExample, ParsesToTheDefaults) {
  // The example documents every key with its default: this keeps the two in step.
  const std::string text = read_text(fs::path(POSTERN_SOURCE_DIR) / "postern.example.yaml");
  ASSERT_FALSE(text.empty());
  const auto env = environment({{"POSTERN_DATABASE_URL", "postgresql://postern:pw@db/postern"}});
  EXPECT_EQ(describe(parse(text, env)), describe(parse("", env)));
}

TEST(ConfigExample, CommentedAlternativesParseToo) {
  // Uncommenting the second listener and the tls section must give a valid file.
  std::string text = read_text(fs::path(POSTERN_SOURCE_DIR) / "postern.example.yaml");
  for (const std::string line : {"  # - address: 0.0.0.0\n", "  #   port: 9465\n",
                                 "  #   tls: implicit\n", "# tls:\n", "#   certificate: ",
                                 "#   key: "}) {
    const auto at = text.find(line);
    ASSERT_NE(at, std::string::npos) << line;
    const auto hash = text.find('#', at);
    text.erase(hash, 2);
  }
  const Config c = parse(text, environment({{"POSTERN_DATABASE_URL", "postgresql://db/p"}}));
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[1].tls, ListenerTls::Implicit);
  ASSERT_TRUE(c.tls);
  EXPECT_EQ(c.tls->certificate_file, "/etc/postern/tls.crt");
}

TEST(ConfigRedact, UriPasswordIsHidden) {
  EXPECT_EQ(redact_database_url("postgresql://postern:s3cret@db:5432/postern"),
            "postgresql://postern:***@db:5432/postern");
  EXPECT_EQ(redact_database_url("postgres://u:pw@h1,h2/db?sslmode=require"),
            "postgres://u:***@h1,h2/db?sslmode=require");
  EXPECT_EQ(redact_database_url("postgresql://:pw@db/p"), "postgresql://:***@db/p");
}

TEST(ConfigRedact, UriWithoutPasswordIsUnchanged) {
  for (const std::string url : {"postgresql://postern@db/postern", "postgresql://db/postern",
                                "postgresql:///postern?host=/run/postgresql", "postgresql://"}) {
    EXPECT_EQ(redact_database_url(url), url);
  }
}

TEST(ConfigRedact, UriPasswordWithRawSpecialCharactersDoesNotLeak) {
  EXPECT_EQ(redact_database_url("postgresql://u:p@ss/w?rd@db/p"), "postgresql://u:***@db/p");
}

TEST(ConfigRedact, UriQueryPasswordsAreHidden) {
  EXPECT_EQ(redact_database_url("postgresql://db/p?user=u&password=s3cret&sslmode=require"),
            "postgresql://db/p?user=u&password=***&sslmode=require");
  EXPECT_EQ(redact_database_url("postgresql://u@db/p?sslpassword=k3y"),
            "postgresql://u@db/p?sslpassword=***");
}

TEST(ConfigRedact, ConninfoPasswordIsHidden) {
  EXPECT_EQ(redact_database_url("host=db user=postern password=s3cret dbname=postern"),
            "host=db user=postern password=*** dbname=postern");
  EXPECT_EQ(redact_database_url("host=db password = 's3 cr\\'et' dbname=p"),
            "host=db password = *** dbname=p");
  EXPECT_EQ(redact_database_url("password=s3\\ cret"), "password=***");
  EXPECT_EQ(redact_database_url("host=db sslpassword=k3y"), "host=db sslpassword=***");
  EXPECT_EQ(redact_database_url("host=db dbname=postern"), "host=db dbname=postern");
}

TEST(ConfigRedact, MalformedConninfoHidesTheRest) {
  EXPECT_EQ(redact_database_url("host=db password s3cret"), "host=db password ***");
  EXPECT_EQ(redact_database_url("host=db password='s3cret"), "host=db password=***");
}

TEST(ConfigDescribe, OneLineWithEverySettingAndNoSecret) {
  const Config c = parse(R"(
hostname: relay.example.com
database: { url: "host=db user=postern password=s3cret dbname=postern" }
tls: { certificate: /etc/postern/tls.crt, key: /etc/postern/tls.key }
listeners:
  - { port: 9000, allow_plaintext_auth_on_loopback: true }
  - { address: "::", port: 9465, tls: implicit }
)");
  const std::string line = describe(c);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find("s3cret"), std::string::npos);
  EXPECT_EQ(line,
            "hostname=relay.example.com "
            "database.url=\"host=db user=postern password=*** dbname=postern\" "
            "database.pool_size=8 database.timeout_seconds=5 "
            "listeners=0.0.0.0:9000/starttls+plaintext-auth-on-loopback,[::]:9465/implicit "
            "tls.certificate=/etc/postern/tls.crt tls.key=/etc/postern/tls.key "
            "http=0.0.0.0:9100 "
            "limits.max_message_size=26214400 limits.max_recipients=100 limits.max_errors=5 "
            "limits.max_connections=1000 limits.max_connections_per_ip=50 "
            "limits.command_timeout_seconds=300 limits.data_timeout_seconds=600 "
            "auth.argon2_memory_kib=19456 auth.argon2_iterations=2 auth.failures_per_ip=10 "
            "auth.failures_per_user=10 auth.failure_window_seconds=900 "
            "auth.failure_delay_ms=1000 policy.local_part_case_sensitive=false "
            "policy.subaddress_delimiter=+ policy.check_header_from=true "
            "submission.add_message_id=true submission.add_date=true "
            "submission.add_received=true submission.add_x_peer=false logging.level=info "
            "shutdown_grace_seconds=30 threads.io=0 delivery.workers=16 "
            "delivery.lease_seconds=300 delivery.lifetime_seconds=432000 "
            "delivery.first_retry_seconds=60 delivery.max_retry_seconds=3600 "
            "delivery.poll_seconds=30 upstreams=none");
}

TEST(ConfigDescribe, UriPasswordHiddenAndNoTls) {
  const std::string line = describe(parse("database:\n  url: postgresql://u:s3cret@db/p\n"));
  EXPECT_NE(line.find(" database.url=postgresql://u:***@db/p "), std::string::npos) << line;
  EXPECT_NE(line.find(" tls=none "), std::string::npos) << line;
}

// ---- delivery:, upstreams:, routes:, default_upstream: --------------------------------------

const std::string kProvider =
    "upstreams:\n  - { name: provider, host: smtp.provider.example }\ndefault_upstream: provider\n";

TEST(ConfigDelivery, DefaultsDisableDelivery) {
  const delivery::DeliveryConfig d = parse(kMinimal).delivery;
  EXPECT_TRUE(d.upstreams.empty());
  EXPECT_TRUE(d.routes.empty());
  EXPECT_EQ(d.default_upstream, "");
  EXPECT_EQ(d.workers, 16u);
  EXPECT_EQ(d.lease_seconds, 300u);
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

TEST(ConfigSecrets, PasswordFileLosesItsTrailingNewline) {
  for (const std::string ending : {"", "\n", "\r\n"}) {
    const TempFile secret("pw" + ending);
    const Config c = parse(kMinimal + "upstreams:\n  - { name: a, host: mx.example.net, username: u,"
                                      " password_file: " + secret.path() + " }\ndefault_upstream: a\n");
    EXPECT_EQ(c.delivery.upstreams.at(0).password, "pw");
  }
}

TEST(ConfigSecrets, EmptyPasswordIsAnError) {
  const TempFile secret("\n");
  const std::string upstream = "upstreams:\n  - { name: a, host: mx.example.net, username: u, ";
  EXPECT_EQ(error_of(kMinimal + upstream + "password_file: " + secret.path() + " }\n"
                                           "default_upstream: a\n"),
            "postern.yaml:4: upstreams[0].password_file: " + secret.path() + " is empty");
  EXPECT_EQ(error_of(kMinimal + upstream + "password_env: PW }\ndefault_upstream: a\n",
                     environment({{"PW", ""}})),
            "postern.yaml:4: upstreams[0].password_env: environment variable PW is empty");
}

TEST(ConfigSecrets, ErrorsNeverShowAnUpstreamPassword) {
  const std::string inline_password =
      "upstreams:\n  - { name: a, host: mx.example.net, username: u, password: s3cret }\n";
  EXPECT_EQ(error_of(kMinimal + inline_password).find("s3cret"), std::string::npos);
  const TempFile secret("s3cret\n");
  const std::string later_error =
      "upstreams:\n  - { name: a, host: mx.example.net, username: u, password_file: " +
      secret.path() + " }\ndefault_upstream: b\n";
  EXPECT_EQ(error_of(kMinimal + later_error), "postern.yaml:5: default_upstream: no upstream named \"b\"");
}

TEST(ConfigDescribe, UpstreamsAndRoutesWithoutPasswords) {
  const TempFile secret("s3cret");
  const Config c = parse(kMinimal + R"(
upstreams:
  - { name: provider, host: smtp.provider.example, username: relay@example.com,
      password_file: )" + secret.path() + R"(, rewrite: { reply_to: support@example.com } }
  - { name: v6, host: "2001:db8::25", security: tls, verify_certificate: false }
  - { name: local, kind: maildir, path: /var/lib/postern/maildir }
routes:
  - { sender_domain: example.com, upstream: provider }
  - { sender: alerts@example.org, upstream: local }
default_upstream: v6
)");
  const std::string line = describe(c);
  EXPECT_EQ(line.find("s3cret"), std::string::npos);
  const std::string expected =
      " upstreams=provider=smtp.provider.example:587/starttls+auth=relay@example.com"
      "+reply-to=support@example.com,v6=[2001:db8::25]:465/tls+no-verify,"
      "local=maildir:/var/lib/postern/maildir "
      "routes=example.com>provider,alerts@example.org>local default_upstream=v6";
  EXPECT_TRUE(line.ends_with(expected)) << line;
}

TEST(ConfigExample, CommentedUpstreamsParse) {
  // Uncommenting the upstreams, routes and default_upstream gives a valid file.
  std::string text = read_text(fs::path(POSTERN_SOURCE_DIR) / "postern.example.yaml");
  const std::string last = "# default_upstream: provider\n";
  const auto begin = text.find("\n# upstreams:\n");
  const auto end = text.find(last);
  ASSERT_NE(begin, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  std::istringstream lines(text.substr(begin + 1, end + last.size() - (begin + 1)));
  std::string block;
  for (std::string line; std::getline(lines, line);) block += line.substr(line == "#" ? 1 : 2) + "\n";
  text = text.substr(0, begin + 1) + block + text.substr(end + last.size());
  const Config c = parse(text, environment({{"POSTERN_DATABASE_URL", "postgresql://db/p"},
                                            {"PROVIDER_PASSWORD", "pw"}}));
  const delivery::DeliveryConfig& d = c.delivery;
  ASSERT_EQ(d.upstreams.size(), 2u);
  EXPECT_EQ(d.upstreams[0].host, "smtp.provider.example");
  EXPECT_EQ(d.upstreams[0].password, "pw");
  EXPECT_EQ(d.upstreams[1].maildir, "/var/lib/postern/maildir");
  ASSERT_EQ(d.routes.size(), 2u);
  EXPECT_EQ(d.routes[1].sender, "alerts@example.org");
  EXPECT_EQ(d.default_upstream, "provider");
}

}  // namespace
}  // namespace postern::config
