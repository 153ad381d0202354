#include <gtest/gtest.h>

#include "server/delivery/routes.hpp"

namespace postern::delivery {
namespace {

Upstream named(std::string name) {
  Upstream u;
  u.name = std::move(name);
  return u;
}

DeliveryConfig config() {
  DeliveryConfig c;
  c.upstreams = {named("provider"), named("local"), named("other")};
  c.routes = {Route{"alerts@example.org", "", "local"}, Route{"", "example.org", "other"},
              Route{"", "example.com", "local"}};
  c.default_upstream = "provider";
  return c;
}

std::string chosen(const DeliveryConfig& c, std::string_view sender) {
  const Upstream* u = select_upstream(c, sender);
  return u == nullptr ? "(none)" : u->name;
}

TEST(DeliveryRoutes, SenderRouteMatchesTheWholeAddress) {
  EXPECT_EQ(chosen(config(), "alerts@example.org"), "local");
  EXPECT_EQ(chosen(config(), "alerts2@example.org"), "other");
}

TEST(DeliveryRoutes, FirstMatchWins) {
  DeliveryConfig c = config();
  std::swap(c.routes[0], c.routes[1]);  // the domain route now comes first
  EXPECT_EQ(chosen(c, "alerts@example.org"), "other");
}

TEST(DeliveryRoutes, DomainRouteMatchesThatDomainOnly) {
  EXPECT_EQ(chosen(config(), "bob@example.com"), "local");
  EXPECT_EQ(chosen(config(), "bob@mail.example.com"), "provider");
  EXPECT_EQ(chosen(config(), "bob@example.com.evil"), "provider");
  EXPECT_EQ(chosen(config(), "example.com@elsewhere.net"), "provider");
}

TEST(DeliveryRoutes, ComparisonIgnoresAsciiCase) {
  EXPECT_EQ(chosen(config(), "ALERTS@Example.ORG"), "local");
  EXPECT_EQ(chosen(config(), "Bob@EXAMPLE.com"), "local");
}

TEST(DeliveryRoutes, UnmatchedAndNullSenderGoToTheDefault) {
  EXPECT_EQ(chosen(config(), "carol@example.net"), "provider");
  EXPECT_EQ(chosen(config(), ""), "provider");
  EXPECT_EQ(chosen(config(), "no-at-sign"), "provider");
}

TEST(DeliveryRoutes, DisabledDeliveryHasNoUpstream) {
  EXPECT_EQ(select_upstream(DeliveryConfig{}, "alerts@example.org"), nullptr);
  EXPECT_EQ(select_upstream(DeliveryConfig{}, ""), nullptr);
}

TEST(DeliveryRoutes, FindUpstreamByExactName) {
  const DeliveryConfig c = config();
  EXPECT_EQ(find_upstream(c, "local"), &c.upstreams[1]);
  EXPECT_EQ(find_upstream(c, "Local"), nullptr);
  EXPECT_EQ(find_upstream(c, "x"), nullptr);
}

}  // namespace
}  // namespace postern::delivery
