// Secrets: the database URL from the environment, the file or the key, upstream passwords from
// files or the environment, and errors that never show a secret.
#include "tests/unit/config_test_support.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace postern::config {
namespace {

using namespace test_support;
namespace fs = std::filesystem;

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

// AUTH without TLS shows the password to the network: only a loopback upstream may have it.
TEST(ConfigSecrets, PlaintextAuthOnlyToALoopbackUpstream) {
  const auto upstream = [](const std::string& host) {
    return kMinimal + "upstreams:\n  - { name: a, host: \"" + host +
           "\", security: none, username: u, password_env: PW }\ndefault_upstream: a\n";
  };
  const Environment env = environment({{"PW", "s3cret"}});
  for (const std::string host : {"localhost", "LocalHost", "127.0.0.1", "127.1.2.3", "::1",
                                 "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"}) {
    SCOPED_TRACE(host);
    EXPECT_EQ(parse(upstream(host), env).delivery.upstreams.at(0).password, "s3cret");
  }
  for (const std::string host : {"smtp.provider.example", "localhost.example", "10.0.0.25",
                                 "128.0.0.1", "::2", "::ffff:10.0.0.1", "0.0.0.0", "::"}) {
    SCOPED_TRACE(host);
    EXPECT_EQ(error_of(upstream(host), env),
              "postern.yaml:4: upstreams[0].security: none would send the password of username in "
              "clear to \"" + host + "\": use starttls or tls (none with username is for loopback "
              "hosts only: localhost, 127.0.0.0/8, ::1)");
  }
  // Without a username nothing secret is sent: security: none stays allowed anywhere.
  EXPECT_EQ(error_of(kMinimal + "upstreams:\n  - { name: a, host: 10.0.0.25, security: none }\n"
                                "default_upstream: a\n"),
            "");
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

}  // namespace
}  // namespace postern::config
