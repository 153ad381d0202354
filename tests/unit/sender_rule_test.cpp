#include "postern/schema/sender_rule.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "postern/schema/address.hpp"

namespace postern::schema {
namespace {

Address address(const std::string& text) {
  const auto parsed = parse_address(text);
  EXPECT_TRUE(parsed) << parsed.error;
  return parsed ? *parsed : Address{};
}

const SenderPolicy kDefault{};
const SenderPolicy kCaseSensitive{.local_part_case_sensitive = true, .subaddress_delimiter = {}};
const SenderPolicy kPlus{.local_part_case_sensitive = false, .subaddress_delimiter = "+"};

void expect_allowed(const SenderDecision& d, GrantKind via, const std::string& grant) {
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.via, via);
  EXPECT_EQ(d.grant, grant);
}

void expect_denied(const SenderDecision& d) {
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.via, GrantKind::None);
  EXPECT_EQ(d.grant, "");
}

TEST(SenderRule, AddressGrantAllowsThatAddress) {
  const UserGrants grants{.addresses = {"alice@example.com"}, .domains = {}};
  expect_allowed(may_send_as(grants, address("alice@example.com"), kDefault), GrantKind::Address,
                 "alice@example.com");
  expect_denied(may_send_as(grants, address("bob@example.com"), kDefault));
}

TEST(SenderRule, DomainGrantAllowsAnyLocalPart) {
  const UserGrants grants{.addresses = {}, .domains = {"example.com"}};
  for (const auto* sender : {"alice@example.com", "x@example.com", "\"any one\"@example.com",
                             "j\xc3\xb6ran@example.com", "a+b@example.com"}) {
    SCOPED_TRACE(sender);
    expect_allowed(may_send_as(grants, address(sender), kDefault), GrantKind::Domain,
                   "example.com");
  }
}

TEST(SenderRule, DomainGrantDoesNotAllowSubdomain) {
  const UserGrants grants{.addresses = {}, .domains = {"example.com"}};
  expect_denied(may_send_as(grants, address("x@sub.example.com"), kDefault));
  expect_denied(may_send_as(grants, address("x@example.com.evil.test"), kDefault));
  expect_denied(may_send_as(grants, address("x@notexample.com"), kDefault));
  const UserGrants sub{.addresses = {}, .domains = {"sub.example.com"}};
  expect_denied(may_send_as(sub, address("x@example.com"), kDefault));
}

TEST(SenderRule, CaseInsensitiveLocalPartByDefault) {
  const UserGrants grants{.addresses = {"alice@example.com"}, .domains = {}};
  expect_allowed(may_send_as(grants, address("ALICE@EXAMPLE.COM"), kDefault), GrantKind::Address,
                 "alice@example.com");
  expect_allowed(may_send_as(grants, address("Alice@example.com"), kDefault), GrantKind::Address,
                 "alice@example.com");
}

TEST(SenderRule, CaseSensitiveWhenConfigured) {
  const UserGrants grants{.addresses = {"alice@example.com"}, .domains = {}};
  expect_allowed(may_send_as(grants, address("alice@EXAMPLE.com"), kCaseSensitive),
                 GrantKind::Address, "alice@example.com");
  expect_denied(may_send_as(grants, address("Alice@example.com"), kCaseSensitive));
}

TEST(SenderRule, SubaddressMapsToBaseAddress) {
  const UserGrants grants{.addresses = {"alice@example.com"}, .domains = {}};
  expect_allowed(may_send_as(grants, address("alice+news@example.com"), kPlus), GrantKind::Address,
                 "alice@example.com");
  // Only the first delimiter splits; the base still folds case.
  expect_allowed(may_send_as(grants, address("Alice+a+b@example.com"), kPlus), GrantKind::Address,
                 "alice@example.com");
  // The domain must still match exactly.
  expect_denied(may_send_as(grants, address("alice+news@example.org"), kPlus));
}

TEST(SenderRule, SubaddressIgnoredWithoutDelimiter) {
  const UserGrants grants{.addresses = {"alice@example.com"}, .domains = {}};
  expect_denied(may_send_as(grants, address("alice+news@example.com"), kDefault));
}

TEST(SenderRule, AnotherUsersAddressDenied) {
  // Bob's address and domain belong to someone else: this user was never granted them.
  const UserGrants grants{.addresses = {"alice@example.com"}, .domains = {"alice.example"}};
  expect_denied(may_send_as(grants, address("bob@example.com"), kPlus));
  expect_denied(may_send_as(grants, address("bob@bob.example"), kPlus));
  expect_denied(may_send_as(grants, address("alicex@example.com"), kPlus));
  expect_denied(may_send_as(UserGrants{}, address("alice@example.com"), kPlus));
}

TEST(SenderRule, ExactGrantPreferredOverDomain) {
  const UserGrants grants{.addresses = {"alice@example.com"}, .domains = {"example.com"}};
  expect_allowed(may_send_as(grants, address("alice@example.com"), kPlus), GrantKind::Address,
                 "alice@example.com");
  expect_allowed(may_send_as(grants, address("bob@example.com"), kPlus), GrantKind::Domain,
                 "example.com");
  // The domain grant covers a subaddress directly, before any mapping is tried.
  expect_allowed(may_send_as(grants, address("alice+x@example.com"), kPlus), GrantKind::Domain,
                 "example.com");
}

TEST(SenderRule, LegacyGrantsWithOddCaseStillMatch) {
  const UserGrants grants{.addresses = {"Alice@Example.COM"}, .domains = {"Example.ORG"}};
  expect_allowed(may_send_as(grants, address("alice@example.com"), kDefault), GrantKind::Address,
                 "Alice@Example.COM");
  expect_allowed(may_send_as(grants, address("x@example.org"), kDefault), GrantKind::Domain,
                 "Example.ORG");
  // Case-sensitive local parts still ignore the case of the domain.
  expect_allowed(may_send_as(grants, address("Alice@example.com"), kCaseSensitive),
                 GrantKind::Address, "Alice@Example.COM");
  expect_denied(may_send_as(grants, address("alice@example.com"), kCaseSensitive));
}

TEST(SenderRule, QuotedLocalPartsCompareAsWritten) {
  const UserGrants grants{.addresses = {"\"a b\"@example.com", "\"x@y\"@example.com"},
                          .domains = {}};
  expect_allowed(may_send_as(grants, address("\"a b\"@example.com"), kPlus), GrantKind::Address,
                 "\"a b\"@example.com");
  expect_allowed(may_send_as(grants, address("\"A B\"@example.com"), kPlus), GrantKind::Address,
                 "\"a b\"@example.com");
  expect_allowed(may_send_as(grants, address("\"x@y\"@example.com"), kPlus), GrantKind::Address,
                 "\"x@y\"@example.com");
  // Not unquoted, and no subaddress mapping inside quotes.
  const UserGrants plain{.addresses = {"ab@example.com"}, .domains = {}};
  expect_denied(may_send_as(plain, address("\"ab\"@example.com"), kPlus));
  expect_denied(may_send_as(plain, address("\"ab+x\"@example.com"), kPlus));
}

TEST(SenderRule, InternationalisedDomainsCompareAsALabels) {
  const UserGrants grants{.addresses = {"anna@xn--bcher-kva.example"}, .domains = {}};
  expect_allowed(may_send_as(grants, address("Anna@B\xc3\xbc\x63her.example"), kDefault),
                 GrantKind::Address, "anna@xn--bcher-kva.example");
  // Non-ASCII local parts fold ASCII letters only.
  const UserGrants utf8{.addresses = {"j\xc3\xb6ran@example.com"}, .domains = {}};
  expect_allowed(may_send_as(utf8, address("J\xc3\xb6ran@example.com"), kDefault),
                 GrantKind::Address, "j\xc3\xb6ran@example.com");
  expect_denied(may_send_as(utf8, address("j\xc3\x96ran@example.com"), kDefault));
}

TEST(SenderRule, DecisionTable) {
  const UserGrants grants{
      .addresses = {"alice@example.com", "Bob@Example.net", "carol@other.test"},
      .domains = {"team.example", "Legacy.Example"},
  };
  const SenderPolicy sensitive_plus{.local_part_case_sensitive = true,
                                    .subaddress_delimiter = "+"};
  const SenderPolicy dash{.local_part_case_sensitive = false, .subaddress_delimiter = "-"};
  const SenderPolicy word{.local_part_case_sensitive = false, .subaddress_delimiter = "--"};
  struct Case {
    std::string sender;
    SenderPolicy policy;
    GrantKind via;      // None: denied
    std::string grant;  // the grant reported
  };
  const std::vector<Case> cases = {
      {"alice@example.com", kDefault, GrantKind::Address, "alice@example.com"},
      {"ALICE@example.com", kDefault, GrantKind::Address, "alice@example.com"},
      {"ALICE@example.com", kCaseSensitive, GrantKind::None, ""},
      {"bob@example.net", kDefault, GrantKind::Address, "Bob@Example.net"},
      {"Bob@EXAMPLE.NET", kCaseSensitive, GrantKind::Address, "Bob@Example.net"},
      {"bob@example.net", kCaseSensitive, GrantKind::None, ""},
      {"alice@example.net", kDefault, GrantKind::None, ""},
      {"carol@example.com", kDefault, GrantKind::None, ""},
      {"anyone@team.example", kDefault, GrantKind::Domain, "team.example"},
      {"anyone@TEAM.example", kCaseSensitive, GrantKind::Domain, "team.example"},
      {"x@legacy.example", kDefault, GrantKind::Domain, "Legacy.Example"},
      {"x@sub.team.example", kDefault, GrantKind::None, ""},
      {"x@team.example.com", kDefault, GrantKind::None, ""},
      {"alice+tag@example.com", kDefault, GrantKind::None, ""},
      {"alice+tag@example.com", kPlus, GrantKind::Address, "alice@example.com"},
      {"ALICE+tag@example.com", kPlus, GrantKind::Address, "alice@example.com"},
      {"ALICE+tag@example.com", sensitive_plus, GrantKind::None, ""},
      {"Bob+tag@example.net", sensitive_plus, GrantKind::Address, "Bob@Example.net"},
      {"+alice@example.com", kPlus, GrantKind::None, ""},
      {"alice-tag@example.com", kPlus, GrantKind::None, ""},
      {"alice-tag@example.com", dash, GrantKind::Address, "alice@example.com"},
      {"alice--tag@example.com", word, GrantKind::Address, "alice@example.com"},
      {"alice-tag@example.com", word, GrantKind::None, ""},
      {"carol+x@other.test", kPlus, GrantKind::Address, "carol@other.test"},
      {"dave+x@team.example", kPlus, GrantKind::Domain, "team.example"},
      {"dave+x@example.com", kPlus, GrantKind::None, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.sender + " case_sensitive=" + std::to_string(c.policy.local_part_case_sensitive) +
                 " delimiter=" + c.policy.subaddress_delimiter);
    const auto decision = may_send_as(grants, address(c.sender), c.policy);
    EXPECT_EQ(decision.allowed, c.via != GrantKind::None);
    EXPECT_EQ(decision.via, c.via);
    EXPECT_EQ(decision.grant, c.grant);
  }
}

TEST(SenderRule, MalformedLegacyGrantsNeverMatch) {
  // Rows from before validation may hold anything; no sender may reach them.
  const UserGrants grants{.addresses = {"@example.com", "alice@", "\"ab@example.com", "nodomain"},
                          .domains = {""}};
  expect_denied(may_send_as(grants, Address{"", "example.com"}, kPlus));
  expect_denied(may_send_as(grants, Address{"alice", ""}, kPlus));
  // An empty base or a cut inside quotes is no mailbox.
  expect_denied(may_send_as(grants, address("+tag@example.com"), kPlus));
  expect_denied(may_send_as(grants, address("\"ab+tag\"@example.com"), kPlus));
}

}  // namespace
}  // namespace postern::schema
