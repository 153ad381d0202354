// compare_configs() and plan_listeners(): what a reload applies, what waits for a restart.
#include "server/config/config_changes.hpp"

#include "tests/unit/config_test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

namespace postern::config {
namespace {

using test_support::environment;
using test_support::kMinimal;
using test_support::parse;
using Keys = std::vector<std::string>;

const std::string kUpstreams =
    "upstreams:\n"
    "  - name: a\n    host: a.example\n    security: none\n"
    "  - name: b\n    host: b.example\n    security: none\n"
    "default_upstream: a\n";

TEST(CompareConfigs, TheSameFileChangesNothing) {
  const ConfigChanges changes = compare_configs(parse(kMinimal + kUpstreams), parse(kMinimal + kUpstreams));
  EXPECT_EQ(changes.changed, Keys{});
  EXPECT_EQ(changes.needs_restart, Keys{});
}

TEST(CompareConfigs, LimitsPolicyAndLoggingApplyNow) {
  const ConfigChanges changes = compare_configs(
      parse(kMinimal), parse(kMinimal + "limits:\n  max_recipients: 3\n  max_connections: 7\n"
                                        "policy:\n  subaddress_delimiter: \"-\"\n"
                                        "logging:\n  level: debug\n"));
  EXPECT_EQ(changes.changed, (Keys{"limits.max_recipients", "limits.max_connections",
                                   "policy.subaddress_delimiter", "logging.level"}));
  EXPECT_EQ(changes.needs_restart, Keys{});
}

TEST(CompareConfigs, WebhooksApplyNow) {
  const auto env = environment({{"HOOK_SECRET", "s"}});
  const ConfigChanges changes = compare_configs(
      parse(kMinimal, env), parse(kMinimal + "webhooks:\n  endpoints:\n    - name: crm\n"
                                             "      url: https://hooks.example.com/\n      secret_env: HOOK_SECRET\n"
                                             "  timeout_seconds: 5\n",
                                  env));
  EXPECT_EQ(changes.changed, (Keys{"webhooks.endpoints", "webhooks.timeout_seconds"}));
  EXPECT_EQ(changes.needs_restart, Keys{});
}

TEST(CompareConfigs, WhatIsBoundOrSizedAtStartNeedsARestart) {
  const ConfigChanges changes = compare_configs(
      parse(kMinimal), parse("database:\n  url: postgresql://postern@other/postern\n  pool_size: 3\n"
                             "http:\n  port: 9200\n"
                             "threads:\n  io: 2\n"
                             "auth:\n  hash_threads: 2\n  argon2_iterations: 3\n"));
  EXPECT_EQ(changes.changed, Keys{"auth.argon2_iterations"});
  EXPECT_EQ(changes.needs_restart,
            (Keys{"database.url", "database.pool_size", "http", "auth.hash_threads", "threads.io"}));
}

TEST(CompareConfigs, NamesEachUpstreamAddedRemovedOrChanged) {
  const std::string next =
      "upstreams:\n"
      "  - name: a\n    host: a.example\n    security: none\n    port: 2525\n"
      "  - name: c\n    host: c.example\n    security: none\n"
      "default_upstream: c\n";
  const ConfigChanges changes = compare_configs(parse(kMinimal + kUpstreams), parse(kMinimal + next));
  EXPECT_EQ(changes.changed, (Keys{"default_upstream", "upstreams.a", "upstreams.b", "upstreams.c"}));
  EXPECT_EQ(changes.needs_restart, Keys{});
}

TEST(CompareConfigs, TurningDeliveryOnNeedsARestart) {
  const ConfigChanges changes = compare_configs(parse(kMinimal), parse(kMinimal + kUpstreams));
  EXPECT_EQ(changes.needs_restart, Keys{"upstreams"});
  EXPECT_EQ(changes.changed, Keys{});
}

TEST(KeepRunningValues, TakesWhatAppliesNowAndKeepsTheRest) {
  const Config running = parse(kMinimal);
  const Config next = parse("database:\n  url: postgresql://postern@other/postern\n"
                            "hostname: other.example\n"
                            "limits:\n  max_recipients: 3\n"
                            "handler_commands:\n  workers: 9\n" + kUpstreams);
  const Config applied = keep_running_values(running, next);
  EXPECT_EQ(applied.max_recipients, 3u);
  EXPECT_EQ(applied.database_url, running.database_url);
  EXPECT_EQ(applied.hostname, running.hostname);
  EXPECT_EQ(applied.handlers.command_workers, running.handlers.command_workers);
  EXPECT_TRUE(applied.delivery.upstreams.empty());  // delivery stays off until a restart
  // Applied, nothing is left to change but what needs the restart.
  const ConfigChanges again = compare_configs(applied, next);
  EXPECT_EQ(again.changed, Keys{});
  EXPECT_EQ(again.needs_restart, (Keys{"hostname", "database.url", "handler_commands.workers", "upstreams"}));
}

TEST(CompareConfigs, HandlersCompareByContent) {
  const std::string before = "handlers:\n  - name: tag\n    add_header: {name: X-Tag, value: one}\n";
  const std::string after = "handlers:\n  - name: tag\n    add_header: {name: X-Tag, value: two}\n";
  EXPECT_EQ(compare_configs(parse(kMinimal + before), parse(kMinimal + after)).changed, Keys{"handlers"});
  EXPECT_EQ(compare_configs(parse(kMinimal + before), parse(kMinimal + before)).changed, Keys{});
}

TEST(CompareConfigs, NamesListenersBySocket) {
  const std::string before = "listeners:\n  - port: 2587\n  - port: 2588\n";
  const std::string after = "listeners:\n  - port: 2587\n    allow_plaintext_auth_on_loopback: true\n"
                            "  - port: 2589\n";
  EXPECT_EQ(compare_configs(parse(kMinimal + before), parse(kMinimal + after)).changed,
            (Keys{"listeners+0.0.0.0:2589", "listeners-0.0.0.0:2588", "listeners~0.0.0.0:2587"}));
}

// A key added to the configuration (and so to the start-up line) must say whether a reload
// applies it.
TEST(CompareConfigs, LooksAtEveryKeyTheStartUpLineShows) {
  const std::string line = describe(parse(kMinimal + kUpstreams));
  const std::regex field{R"re((\S+?)=("(?:[^"\\]|\\.)*"|\S*))re"};
  const Keys compared = compared_keys();
  int seen = 0;
  for (auto it = std::sregex_iterator(line.begin(), line.end(), field); it != std::sregex_iterator(); ++it) {
    std::string key = (*it)[1];
    for (const std::string section : {"tls", "http"}) {
      if (key.starts_with(section + ".")) key = section;
    }
    EXPECT_NE(std::find(compared.begin(), compared.end(), key), compared.end()) << key;
    ++seen;
  }
  EXPECT_GT(seen, 60);
}

ListenerConfig tcp(std::string address, std::uint16_t port) {
  ListenerConfig listener;
  listener.address = std::move(address);
  listener.port = port;
  return listener;
}

TEST(PlanListeners, PairsBySocketAndKeepsUnchangedOnesOut) {
  ListenerConfig kept = tcp("127.0.0.1", 587);
  ListenerConfig retuned = tcp("127.0.0.1", 465);
  ListenerConfig gone = tcp("127.0.0.1", 25);
  ListenerConfig lmtp;
  lmtp.kind = ListenerKind::Lmtp;
  lmtp.path = "/run/postern/lmtp";
  ListenerConfig implicit = retuned;
  implicit.tls = ListenerTls::Implicit;
  ListenerConfig other_address = tcp("::1", 587);

  const ListenerPlan plan = plan_listeners({kept, retuned, gone}, {other_address, implicit, kept, lmtp});
  ASSERT_EQ(plan.added.size(), 2u);
  EXPECT_EQ(listener_socket(plan.added[0]), "::1:587");
  EXPECT_EQ(listener_socket(plan.added[1]), "unix:/run/postern/lmtp");
  ASSERT_EQ(plan.removed.size(), 1u);
  EXPECT_EQ(listener_socket(plan.removed[0]), "127.0.0.1:25");
  ASSERT_EQ(plan.changed.size(), 1u);
  EXPECT_EQ(plan.changed[0].tls, ListenerTls::Implicit);
}

TEST(PlanListeners, NothingToDoForTheSameList) {
  const ListenerPlan plan = plan_listeners({tcp("0.0.0.0", 9000)}, {tcp("0.0.0.0", 9000)});
  EXPECT_TRUE(plan.added.empty());
  EXPECT_TRUE(plan.removed.empty());
  EXPECT_TRUE(plan.changed.empty());
}

}  // namespace
}  // namespace postern::config
