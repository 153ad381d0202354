// Loading postern.yaml from a path, and the shipped postern.example.yaml: it parses to the
// defaults, and so do its commented alternatives once uncommented.
#include "tests/unit/config_test_support.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <sstream>
#include <string>

namespace postern::config {
namespace {

using namespace test_support;
namespace fs = std::filesystem;

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
