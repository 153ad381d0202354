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
  c.routes = {Route{"alerts@example.org", "", "", {"local"}}, Route{"", "example.org", "", {"other"}},
              Route{"", "example.com", "", {"local"}}};
  c.default_upstream = "provider";
  return c;
}

std::string chosen(const DeliveryConfig& c, std::string_view sender) {
  const Upstream* u = select_upstream(c, sender, "someone@recipient.example");
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

// The grant check lets these through as the route's sender; none may bypass its route.
TEST(DeliveryRoutes, SenderIsComparedNormalisedAsTheGrantCheckDoes) {
  const DeliveryConfig c = config();
  EXPECT_EQ(chosen(c, "alerts+x@example.org"), "local");          // subaddress of the route
  EXPECT_EQ(chosen(c, "Alerts+Tag@EXAMPLE.org"), "local");
  EXPECT_EQ(chosen(c, "alerts@example.org."), "local");           // absolute domain
  // Full-width "ｅｘａｍｐｌｅ" and full-width full stop, as SMTPUTF8 allows them.
  const std::string full_width = "\xef\xbd\x85\xef\xbd\x98\xef\xbd\x81\xef\xbd\x8d\xef\xbd\x90\xef\xbd\x8c\xef\xbd\x85";
  EXPECT_EQ(chosen(c, "alerts@" + full_width + ".org"), "local");
  EXPECT_EQ(chosen(c, "alerts@example\xef\xbc\x8eorg"), "local");
  EXPECT_EQ(chosen(c, "bob@" + full_width + ".com"), "local");   // a domain route too
  // Not the route's mailbox: another local part, or a delimiter at the start.
  EXPECT_EQ(chosen(c, "alertsx@example.org"), "other");
  EXPECT_EQ(chosen(c, "+alerts@example.org"), "other");
}

TEST(DeliveryRoutes, UnicodeDomainMatchesItsALabelRoute) {
  DeliveryConfig c = config();
  c.routes = {Route{"", "xn--bcher-kva.example", "", {"local"}}, Route{"news@xn--bcher-kva.example", "", "", {"other"}}};
  EXPECT_EQ(chosen(c, "orders@b\xc3\xbc" "cher.example"), "local");
  EXPECT_EQ(chosen(c, "orders@B\xc3\x9c" "CHER.example"), "local");
  EXPECT_EQ(chosen(c, "orders@xn--bcher-kva.example"), "local");
  std::swap(c.routes[0], c.routes[1]);
  EXPECT_EQ(chosen(c, "news+x@b\xc3\xbc" "cher.example"), "other");
}

TEST(DeliveryRoutes, SubaddressFollowsTheConfiguredDelimiter) {
  DeliveryConfig c = config();
  c.subaddress_delimiter = "-";
  EXPECT_EQ(chosen(c, "alerts-x@example.org"), "local");
  EXPECT_EQ(chosen(c, "alerts+x@example.org"), "other");
  c.subaddress_delimiter = "";
  EXPECT_EQ(chosen(c, "alerts+x@example.org"), "other");
  EXPECT_EQ(chosen(c, "alerts@example.org"), "local");
}

TEST(DeliveryRoutes, SenderThatDoesNotParseIsComparedAsWritten) {
  DeliveryConfig c = config();
  c.routes.push_back(Route{"", "example.net", "", {"other"}});
  EXPECT_EQ(chosen(c, "ALERTS@example.org "), "provider");  // trailing space: not an address
  EXPECT_EQ(chosen(c, "a b@example.net"), "other");
}

TEST(DeliveryRoutes, UnmatchedAndNullSenderGoToTheDefault) {
  EXPECT_EQ(chosen(config(), "carol@example.net"), "provider");
  EXPECT_EQ(chosen(config(), ""), "provider");
  EXPECT_EQ(chosen(config(), "no-at-sign"), "provider");
}

TEST(DeliveryRoutes, DisabledDeliveryHasNoUpstream) {
  EXPECT_EQ(select_upstream(DeliveryConfig{}, "alerts@example.org", "x@example.net"), nullptr);
  EXPECT_EQ(select_upstream(DeliveryConfig{}, "", "x@example.net"), nullptr);
}

TEST(DeliveryRoutes, FindUpstreamByExactName) {
  const DeliveryConfig c = config();
  EXPECT_EQ(find_upstream(c, "local"), &c.upstreams[1]);
  EXPECT_EQ(find_upstream(c, "Local"), nullptr);
  EXPECT_EQ(find_upstream(c, "x"), nullptr);
}

}  // namespace
}  // namespace postern::delivery

namespace postern::delivery {
namespace {

std::string to(const DeliveryConfig& c, std::string_view sender, std::string_view recipient) {
  const Upstream* u = select_upstream(c, sender, recipient);
  return u == nullptr ? "(none)" : u->name;
}

TEST(DeliveryRoutes, RecipientDomainRouteMatchesPerRecipient) {
  DeliveryConfig c = config();
  c.routes.insert(c.routes.begin(), Route{"", "", "trap.example", {"local"}});
  EXPECT_EQ(to(c, "carol@example.net", "anything@trap.example"), "local");
  EXPECT_EQ(to(c, "carol@example.net", "Anything+x@TRAP.example"), "local");
  EXPECT_EQ(to(c, "carol@example.net", "bob@mail.trap.example"), "provider");  // not its subdomains
  EXPECT_EQ(to(c, "carol@example.net", "bob@elsewhere.example"), "provider");
  EXPECT_EQ(to(c, "", "bounce@trap.example"), "local");  // the null sender too
  EXPECT_EQ(to(c, "carol@example.net", "postmaster"), "provider");
}

TEST(DeliveryRoutes, FirstMatchWinsAcrossRouteKinds) {
  DeliveryConfig c = config();
  c.routes.push_back(Route{"", "", "trap.example", {"local"}});
  EXPECT_EQ(to(c, "alerts@example.org", "x@trap.example"), "local");   // the sender route comes first
  EXPECT_EQ(to(c, "carol@example.net", "x@trap.example"), "local");
  c.routes.insert(c.routes.begin(), Route{"", "", "trap.example", {"other"}});
  EXPECT_EQ(to(c, "alerts@example.org", "x@trap.example"), "other");
}

TEST(DeliveryRoutes, FanOutRouteIsFoundWithAllItsUpstreams) {
  DeliveryConfig c = config();
  c.routes = {Route{"", "", "trap.example", {"other", "local"}}};
  const Route* route = matching_route(c, "", "x@trap.example");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->upstreams, (std::vector<std::string>{"other", "local"}));
  EXPECT_EQ(to(c, "", "x@trap.example"), "other");  // the first, for mail queued without its copies
  EXPECT_EQ(matching_route(c, "a@example.org", "x@example.org"), nullptr);
}

}  // namespace
}  // namespace postern::delivery
