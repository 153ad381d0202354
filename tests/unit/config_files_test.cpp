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

// The text with the commented block from the line `first` through the line `last` uncommented.
std::string uncomment(const std::string& text, const std::string& first, const std::string& last) {
  const auto begin = text.find("\n" + first + "\n");
  const auto end = text.find("\n" + last + "\n");
  EXPECT_NE(begin, std::string::npos) << first;
  EXPECT_NE(end, std::string::npos) << last;
  if (begin == std::string::npos || end == std::string::npos) return text;
  std::istringstream lines(text.substr(begin + 1, end + 1 + last.size() + 1 - (begin + 1)));
  std::string block;
  for (std::string line; std::getline(lines, line);) block += line.substr(line == "#" ? 1 : 2) + "\n";
  return text.substr(0, begin + 1) + block + text.substr(end + 1 + last.size() + 1);
}

TEST(ConfigExample, CommentedUpstreamsParse) {
  // Uncommenting the upstreams, routes and default_upstream gives a valid file.
  std::string text = read_text(fs::path(POSTERN_SOURCE_DIR) / "postern.example.yaml");
  text = uncomment(text, "# upstreams:", "# default_upstream: provider");
  const Config c = parse(text, environment({{"POSTERN_DATABASE_URL", "postgresql://db/p"},
                                            {"PROVIDER_PASSWORD", "pw"},
                                            {"HPFEEDS_SECRET", "hs"},
                                            {"AMQP_PASSWORD", "ap"}}));
  const delivery::DeliveryConfig& d = c.delivery;
  ASSERT_EQ(d.upstreams.size(), 4u);
  EXPECT_EQ(d.upstreams[0].host, "smtp.provider.example");
  EXPECT_EQ(d.upstreams[0].password, "pw");
  EXPECT_EQ(d.upstreams[1].maildir, "/var/lib/postern/maildir");
  EXPECT_EQ(d.upstreams[2].hpfeeds.secret, "hs");
  EXPECT_EQ(d.upstreams[3].password, "ap");
  ASSERT_EQ(d.routes.size(), 3u);
  EXPECT_EQ(d.routes[0].upstreams, (std::vector<std::string>{"feed", "local"}));
  EXPECT_EQ(d.routes[2].sender, "alerts@example.org");
  EXPECT_EQ(d.default_upstream, "provider");
}

TEST(ConfigExample, CommentedHandlersParse) {
  // Uncommenting the handlers (with the upstreams their route names) gives a valid file; the
  // example's handler program is replaced by one that exists here.
  std::string text = read_text(fs::path(POSTERN_SOURCE_DIR) / "postern.example.yaml");
  text = uncomment(text, "# upstreams:", "# default_upstream: provider");
  text = uncomment(text, "# handlers:", "#   queue: 100                    # commands waiting for a worker; more: 451 at once");
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"/usr/local/lib/postern/save-voice-messages", "/bin/cat"},
                                 {"working_directory: /var/lib/voice-messages", "working_directory: /tmp"}}) {
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
  }
  const Config c = parse(text, environment({{"POSTERN_DATABASE_URL", "postgresql://db/p"},
                                            {"PROVIDER_PASSWORD", "pw"},
                                            {"HPFEEDS_SECRET", "hs"},
                                            {"AMQP_PASSWORD", "ap"}}));
  ASSERT_EQ(c.handlers.handlers.size(), 9u);
  EXPECT_EQ(c.handlers.handlers.front().name, "tag-invoices");
  EXPECT_EQ(std::get<handlers::Command>(c.handlers.handlers.back().action).argv.front(), "/bin/cat");
}

TEST(ConfigExample, CommentedWebhooksParseToTheDefaults) {
  // Uncommenting the webhooks section gives one endpoint and the default settings; the example's
  // secret file is replaced by one that exists here.
  const TempFile secret{"whsec\n"};
  std::string text = read_text(fs::path(POSTERN_SOURCE_DIR) / "postern.example.yaml");
  text = uncomment(text, "# webhooks:",
                   "#   give_up_hours: 72                   # then an event still not acknowledged is dropped "
                   "(logged, counted)");
  const std::string example_secret = "/run/secrets/postern/webhook-crm";
  const auto at = text.find(example_secret);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, example_secret.size(), secret.path());
  const Config c = parse(text, environment({{"POSTERN_DATABASE_URL", "postgresql://db/p"}}));
  ASSERT_EQ(c.webhooks.endpoints.size(), 1u);
  EXPECT_EQ(c.webhooks.endpoints[0].secret, "whsec");
  WebhooksConfig defaults;
  defaults.endpoints = c.webhooks.endpoints;
  EXPECT_EQ(c.webhooks, defaults);
}

}  // namespace
}  // namespace postern::config
