// The admin_api: section: off unless present, loopback by default, a unix socket instead of TCP,
// its own database URL from the environment or a file (never inline), and errors naming the line
// and the key.
#include "tests/unit/config_test_support.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern::config {
namespace {

using namespace test_support;

const auto kAdminEnv = environment({{"POSTERN_ADMIN_DATABASE_URL", "postgresql://owner@db/postern"}});

TEST(ConfigAdminApi, OffWithoutTheSection) {
  EXPECT_FALSE(parse(kMinimal).admin_api.has_value());
  EXPECT_FALSE(parse(kMinimal + "admin_api:\n").admin_api.has_value());
}

TEST(ConfigAdminApi, DefaultsToLoopbackWithItsOwnDatabaseUrl) {
  const Config c = parse(kMinimal + "admin_api:\n  tokens_file: /etc/postern/admin-tokens\n", kAdminEnv);
  ASSERT_TRUE(c.admin_api.has_value());
  EXPECT_EQ(c.admin_api->address, "127.0.0.1");
  EXPECT_EQ(c.admin_api->port, 9080);
  EXPECT_EQ(c.admin_api->path, "");
  EXPECT_EQ(c.admin_api->database_url, "postgresql://owner@db/postern");
  EXPECT_EQ(c.database_url, "postgresql://postern@db/postern");
  EXPECT_EQ(c.admin_api->max_body_bytes, 65536u);
  EXPECT_EQ(c.admin_api->requests_per_second, 20u);
  EXPECT_EQ(c.admin_api->burst, 40u);
  EXPECT_FALSE(c.admin_api->tls());
}

TEST(ConfigAdminApi, ReadsEveryKey) {
  const TempFile url{"postgresql://owner:pw@db/postern\n"};
  const Config c = parse(kMinimal + "admin_api:\n  path: /run/postern/admin.sock\n  database_url_file: " +
                         url.path() +
                         "\n  tokens_file: /t\n  tls: {certificate: /c.pem, key: /k.pem}\n  max_body_bytes: 4096\n"
                         "  requests_per_second: 5\n  burst: 7\n  max_connections: 3\n  database_pool_size: 1\n"
                         "  timeout_seconds: 4\n");
  const auto& api = *c.admin_api;
  EXPECT_EQ(api.path, "/run/postern/admin.sock");
  EXPECT_EQ(api.database_url, "postgresql://owner:pw@db/postern");
  EXPECT_EQ(api.tls_certificate_file, "/c.pem");
  EXPECT_EQ(api.tls_key_file, "/k.pem");
  EXPECT_EQ(api.max_body_bytes, 4096u);
  EXPECT_EQ(api.requests_per_second, 5u);
  EXPECT_EQ(api.burst, 7u);
  EXPECT_EQ(api.max_connections, 3u);
  EXPECT_EQ(api.database_pool_size, 1u);
  EXPECT_EQ(api.timeout_seconds, 4u);
}

TEST(ConfigAdminApi, ErrorsNameLineAndKey) {
  const std::string head = kMinimal + "admin_api:\n  tokens_file: /t\n";
  EXPECT_EQ(error_of(head + "  address: localhost\n", kAdminEnv),
            "postern.yaml:5: admin_api.address: expected an IPv4 or IPv6 address, got \"localhost\"");
  EXPECT_EQ(error_of(head + "  path: /s\n  port: 1\n", kAdminEnv),
            "postern.yaml:6: admin_api.port: cannot be combined with path (a unix socket)");
  EXPECT_EQ(error_of(head + "  path: admin.sock\n", kAdminEnv),
            "postern.yaml:5: admin_api.path: expected an absolute path, got \"admin.sock\"");
  EXPECT_EQ(error_of(head + "  database_url: postgresql://owner:pw@db/x\n", kAdminEnv),
            "postern.yaml:5: admin_api.database_url: the URL is a secret: use database_url_file or "
            "POSTERN_ADMIN_DATABASE_URL");
  EXPECT_EQ(error_of(head + "  tls: {certificate: /c}\n", kAdminEnv),
            "postern.yaml:5: admin_api.tls.key: required with admin_api.tls.certificate");
  EXPECT_EQ(error_of(head + "  token_file: /t\n", kAdminEnv).rfind("postern.yaml:5: ", 0), 0u);
}

TEST(ConfigAdminApi, NeedsTokensAndADatabaseUrl) {
  EXPECT_EQ(error_of(kMinimal + "admin_api:\n  port: 9080\n", kAdminEnv),
            "postern.yaml:3: admin_api.tokens_file: required with admin_api");
  EXPECT_EQ(error_of(kMinimal + "admin_api:\n  tokens_file: /t\n"),
            "postern.yaml:3: admin_api.database_url_file: required (or POSTERN_ADMIN_DATABASE_URL)");
}

}  // namespace
}  // namespace postern::config
