// The dkim: section: on with the default header list without it, From required in a list of its
// own, and both keys applied by a reload.
#include "server/config/config_changes.hpp"
#include "tests/unit/config_test_support.hpp"

#include "dkim/signature.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::config {
namespace {

using namespace test_support;

TEST(ConfigDkim, OnWithTheDefaultHeadersWithoutTheSection) {
  const Config c = parse(kMinimal);
  EXPECT_TRUE(c.delivery.dkim.enabled);
  EXPECT_EQ(c.delivery.dkim.headers, dkim::default_signed_headers());
}

TEST(ConfigDkim, ReadsEveryKey) {
  const Config c = parse(kMinimal + "dkim:\n  enabled: false\n  headers: [From, Subject, List-Id]\n");
  EXPECT_FALSE(c.delivery.dkim.enabled);
  EXPECT_EQ(c.delivery.dkim.headers, (std::vector<std::string>{"From", "Subject", "List-Id"}));
}

TEST(ConfigDkim, HeadersMustIncludeFromAndBeFieldNames) {
  EXPECT_THROW(parse(kMinimal + "dkim:\n  headers: [To, Subject]\n"), ConfigError);
  EXPECT_THROW(parse(kMinimal + "dkim:\n  headers: [from, \"Bad Name\"]\n"), ConfigError);
  EXPECT_NO_THROW(parse(kMinimal + "dkim:\n  headers: [from]\n"));
}

TEST(ConfigDkim, AReloadAppliesBothKeysNow) {
  const ConfigChanges changes =
      compare_configs(parse(kMinimal), parse(kMinimal + "dkim:\n  enabled: false\n  headers: [From]\n"));
  EXPECT_EQ(changes.changed, (std::vector<std::string>{"dkim.enabled", "dkim.headers"}));
  EXPECT_TRUE(changes.needs_restart.empty());
}

}  // namespace
}  // namespace postern::config
