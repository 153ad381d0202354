// postern.yaml's keys: the default of each, every key parsed, edge values, the listeners and
// the HTTP endpoint.
#include "tests/unit/config_test_support.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <fstream>
#include <string>

namespace postern::config {
namespace {

using namespace test_support;

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
  EXPECT_EQ(c.auth_timeout_seconds, 60u);
  EXPECT_EQ(c.session_timeout_seconds, 3600u);
  EXPECT_EQ(c.data_timeout_seconds, 600u);
  EXPECT_EQ(c.argon2_memory_kib, 19456u);
  EXPECT_EQ(c.argon2_iterations, 2u);
  EXPECT_EQ(c.auth_hash_threads, 0u);
  EXPECT_EQ(c.auth_hash_queue, 0u);
  EXPECT_EQ(c.auth_failure_window_seconds, 900u);
  EXPECT_EQ(c.auth_failures_per_network, 30u);
  EXPECT_EQ(c.auth_failures_per_user_network, 5u);
  EXPECT_EQ(c.auth_failure_delay_ms, 1000u);
  EXPECT_EQ(c.auth_user_delay_ms, 1000u);
  EXPECT_EQ(c.auth_checks_per_user, 2u);
  EXPECT_EQ(c.auth_known_network_days, 30u);
  EXPECT_FALSE(c.local_part_case_sensitive);
  EXPECT_EQ(c.subaddress_delimiter, "+");
  EXPECT_EQ(c.delivery.subaddress_delimiter, "+");
  EXPECT_TRUE(c.check_header_from);
  EXPECT_TRUE(c.refuse_address_like_display_names);
  EXPECT_TRUE(c.add_message_id);
  EXPECT_TRUE(c.add_date);
  EXPECT_TRUE(c.add_received);
  EXPECT_FALSE(c.add_x_peer);
  EXPECT_FALSE(c.received_shows_user);
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
  hash_threads: 3
  hash_queue: 7
  failure_window_seconds: 600
  failures_per_network: 20
  failures_per_user_network: 4
  failure_delay_ms: 0
  user_delay_ms: 1500
  checks_per_user: 3
  known_network_days: 0
policy:
  local_part_case_sensitive: true
  subaddress_delimiter: "-"
  check_header_from: false
  address_like_display_names: allow
submission:
  add_message_id: false
  add_date: false
  add_received: false
  add_x_peer: true
  received_shows_user: true
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
  EXPECT_EQ(c.auth_hash_threads, 3u);
  EXPECT_EQ(c.auth_hash_queue, 7u);
  EXPECT_EQ(c.auth_failure_window_seconds, 600u);
  EXPECT_EQ(c.auth_failures_per_network, 20u);
  EXPECT_EQ(c.auth_failures_per_user_network, 4u);
  EXPECT_EQ(c.auth_failure_delay_ms, 0u);
  EXPECT_EQ(c.auth_user_delay_ms, 1500u);
  EXPECT_EQ(c.auth_checks_per_user, 3u);
  EXPECT_EQ(c.auth_known_network_days, 0u);
  EXPECT_TRUE(c.local_part_case_sensitive);
  EXPECT_EQ(c.subaddress_delimiter, "-");
  EXPECT_EQ(c.delivery.subaddress_delimiter, "-");  // routes match subaddresses as grants do
  EXPECT_FALSE(c.check_header_from);
  EXPECT_FALSE(c.refuse_address_like_display_names);
  EXPECT_FALSE(c.add_message_id);
  EXPECT_FALSE(c.add_date);
  EXPECT_FALSE(c.add_received);
  EXPECT_TRUE(c.add_x_peer);
  EXPECT_TRUE(c.received_shows_user);
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
  EXPECT_EQ(c.delivery.subaddress_delimiter, "");
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

TEST(ConfigQueue, SpoolDirectoryDefaultsToTheTemporaryDirectory) {
  EXPECT_EQ(parse(kMinimal).spool_directory, "/tmp");
  EXPECT_EQ(parse(kMinimal, environment({{"TMPDIR", "/var/tmp"}})).spool_directory, "/var/tmp");
  const Config c = parse(kMinimal + "queue:\n  spool_directory: /var/spool/postern\n",
                         environment({{"TMPDIR", "/var/tmp"}}));
  EXPECT_EQ(c.spool_directory, "/var/spool/postern");
  EXPECT_NE(describe(c).find(" queue.spool_directory=/var/spool/postern "), std::string::npos) << describe(c);
}

TEST(ConfigQueue, SpoolDirectoryMustBeAnAbsolutePath) {
  EXPECT_EQ(error_of(kMinimal + "queue:\n  spool_directory: spool\n"),
            "postern.yaml:4: queue.spool_directory: expected an absolute path, got \"spool\"");
  EXPECT_EQ(error_of(kMinimal + "queue:\n  spool_dir: /tmp\n"),
            "postern.yaml:4: unknown key \"queue.spool_dir\"");
}

// Key files in a temporary folder, removed at the end of the test.
class ConfigSealKeys : public testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::filesystem::temp_directory_path() / ("postern-seal-" + std::to_string(::getpid()));
    std::filesystem::create_directories(folder_);
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }
  std::string key_file(const std::string& name, const std::string& line) {
    const auto path = folder_ / name;
    std::ofstream(path) << line;
    return path.string();
  }
  std::filesystem::path folder_;
};

TEST_F(ConfigSealKeys, KeysAreLoadedAndDescribedByTheirIdsOnly) {
  const std::string now = key_file("now.key", "2026-12:" + std::string(42, 'A') + "A=\n");
  const std::string old = key_file("old.key", "2026-06:" + std::string(42, 'B') + "A=\n");
  const Config c = parse(kMinimal + "queue:\n  seal_key_files: [" + now + ", " + old + "]\n");
  const schema::SealKeys& keys = c.delivery.seal_keys;
  ASSERT_EQ(keys.all().size(), 2u);
  EXPECT_EQ(keys.sealing().id, "2026-12");
  EXPECT_NE(describe(c).find(" queue.seal_keys=2026-12,2026-06 "), std::string::npos) << describe(c);
  EXPECT_TRUE(parse(kMinimal).delivery.seal_keys.empty());
}

TEST_F(ConfigSealKeys, ABadKeyFileNamesTheKeyTheLineAndTheFileNeverTheKey) {
  const std::string missing = (folder_ / "missing.key").string();
  EXPECT_EQ(error_of(kMinimal + "queue:\n  seal_key_files:\n    - " + missing + "\n"),
            "postern.yaml:4: queue.seal_key_files: cannot read seal key file " + missing +
                ": No such file or directory");
  const std::string short_key = key_file("short.key", "2026-12:c2VjcmV0\n");
  const std::string error = error_of(kMinimal + "queue:\n  seal_key_files: [" + short_key + "]\n");
  EXPECT_EQ(error, "postern.yaml:4: queue.seal_key_files: " + short_key + ": the key of 2026-12 is not 32 bytes in base64");
  const std::string same = key_file("same.key", "2026-12:" + std::string(42, 'C') + "A=\n");
  const std::string again = key_file("again.key", "2026-12:" + std::string(42, 'D') + "A=\n");
  EXPECT_EQ(error_of(kMinimal + "queue:\n  seal_key_files: [" + same + ", " + again + "]\n"),
            "postern.yaml:4: queue.seal_key_files: two seal keys have the id 2026-12");
}

}  // namespace
}  // namespace postern::config
