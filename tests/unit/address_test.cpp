#include "postern/schema/address.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace postern::schema {
namespace {

using namespace std::string_view_literals;

struct Accepted {
  std::string input;
  std::string local;   // expected Address::local
  std::string domain;  // expected Address::domain
};

struct Rejected {
  std::string input;
  std::string reason;  // expected at the end of the error, after `invalid address "...": `
};

void expect_accepted(const std::vector<Accepted>& cases) {
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    const auto parsed = parse_address(c.input);
    ASSERT_TRUE(parsed) << parsed.error;
    EXPECT_EQ(parsed->local, c.local);
    EXPECT_EQ(parsed->domain, c.domain);
    EXPECT_TRUE(parsed.error.empty());
  }
}

void expect_rejected(const std::vector<Rejected>& cases) {
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    const auto parsed = parse_address(c.input);
    ASSERT_FALSE(parsed) << "parsed as " << parsed->str();
    EXPECT_TRUE(parsed.error.starts_with("invalid address \"")) << parsed.error;
    EXPECT_TRUE(parsed.error.ends_with("\": " + c.reason)) << parsed.error;
  }
}

std::string repeat(std::string_view part, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += part;
  return out;
}

// A valid domain of exactly `size` octets (size >= 3): "com" after labels of at most 63 octets.
std::string domain_of_size(std::size_t size) {
  std::string domain = "com";
  while (domain.size() < size) {
    const std::size_t room = size - domain.size() - 1;  // octets left for the next label
    std::size_t label = std::min<std::size_t>(63, room);
    if (room - label == 1) --label;  // a lone octet left over could not form a label
    domain.insert(0, std::string(label, 'a') + ".");
  }
  return domain;
}

TEST(AddressParse, AcceptsDotStringLocalParts) {
  expect_accepted({
      {"user@example.com", "user", "example.com"},
      {"first.last@example.com", "first.last", "example.com"},
      {"a!#$%&'*+-/=?^_`{|}~z@example.com", "a!#$%&'*+-/=?^_`{|}~z", "example.com"},
      {"x@example.com", "x", "example.com"},
      {"0@example.com", "0", "example.com"},
      {"user+tag@example.com", "user+tag", "example.com"},
  });
}

TEST(AddressParse, KeepsLocalPartCaseAndLowercasesDomain) {
  expect_accepted({
      {"User.Name@Example.COM", "User.Name", "example.com"},
      {"ALICE@MAIL.EXAMPLE.ORG", "ALICE", "mail.example.org"},
  });
}

TEST(AddressParse, RejectsMisplacedDotsInLocalPart) {
  expect_rejected({
      {".user@example.com", "local part starts with a dot"},
      {"user.@example.com", "local part ends with a dot"},
      {"us..er@example.com", "local part has two dots in a row"},
      {".@example.com", "local part starts with a dot"},
  });
}

TEST(AddressParse, RejectsEmptyParts) {
  expect_rejected({
      {"", "address is empty"},
      {"@example.com", "local part is empty"},
      {"\"\"@example.com", "local part is empty"},
      {"user@", "domain is empty"},
      {"user@.", "domain is empty"},
      {"user", "missing @"},
      {"\"user\"", "missing @"},
      {"user@.example.com", "domain has an empty label"},
      {"user@example..com", "domain has an empty label"},
      {"user@example.com..", "domain has an empty label"},
  });
}

TEST(AddressParse, AcceptsQuotedLocalPartsAsWritten) {
  expect_accepted({
      {"\"a b\"@example.com", "\"a b\"", "example.com"},
      {"\"a@b\"@example.com", "\"a@b\"", "example.com"},
      {"\"a..b.\"@example.com", "\"a..b.\"", "example.com"},
      {R"("a\"b"@example.com)", R"("a\"b")", "example.com"},
      {R"("a\\b"@example.com)", R"("a\\b")", "example.com"},
      {"\"Joe,Smith\"@example.com", "\"Joe,Smith\"", "example.com"},
      {"\"plain\"@example.com", "\"plain\"", "example.com"},
  });
}

TEST(AddressParse, RejectsMalformedQuotedLocalParts) {
  expect_rejected({
      {"\"abc@example.com", "quoted local part is not closed"},
      {R"("abc\)", "quoted local part is not closed"},
      {"\"a\"b@example.com", "quoted local part must be followed by @"},
      {"\"a\tb\"@example.com", "quoted local part contains a control character"},
      {"\"a\x7f\"@example.com", "quoted local part contains a control character"},
      {"\"a\\\nb\"@example.com", "quoted local part contains a control character"},
      {"\"b\xc3\xbc\"@example.com", "quoted local part contains a non-ascii character"},
      {"a\"b\"@example.com", "local part contains invalid character '\"'"},
  });
}

TEST(AddressParse, LimitsLocalPartTo64Octets) {
  const std::string quoted62 = "\"" + std::string(62, 'q') + "\"";
  expect_accepted({
      {std::string(64, 'a') + "@example.com", std::string(64, 'a'), "example.com"},
      {quoted62 + "@example.com", quoted62, "example.com"},
      // Octets, not characters: 32 two-octet characters.
      {repeat("\xc3\xa9", 32) + "@example.com", repeat("\xc3\xa9", 32), "example.com"},
  });
  expect_rejected({
      {std::string(65, 'a') + "@example.com", "local part is longer than 64 octets"},
      {"\"" + std::string(63, 'q') + "\"@example.com", "local part is longer than 64 octets"},
      {std::string(63, 'a') + "\xc3\xa9@example.com", "local part is longer than 64 octets"},
  });
}

TEST(AddressParse, LimitsAddressTo254Octets) {
  // 64 + 1 + 189 = 254 octets.
  const std::string local(64, 'a');
  expect_accepted({
      {local + "@" + domain_of_size(189), local, domain_of_size(189)},
      {local + "@" + domain_of_size(189) + ".", local, domain_of_size(189)},
  });
  expect_rejected({
      {local + "@" + domain_of_size(190), "address is longer than 254 octets"},
      // A domain of the greatest length still leaves no room for a local part.
      {"a@" + domain_of_size(253), "address is longer than 254 octets"},
      {"a@" + domain_of_size(254), "domain is longer than 253 octets"},
  });
}

TEST(AddressParse, LimitsDomainLabelsTo63Octets) {
  const std::string label63(63, 'l');
  expect_accepted({{"a@" + label63 + ".com", "a", label63 + ".com"}});
  expect_rejected({
      {"a@" + label63 + "l.com", "domain label is longer than 63 octets"},
      {"a@example." + label63 + "l", "domain label is longer than 63 octets"},
  });
}

TEST(AddressParse, AllowsOnlyInnerHyphensInDomainLabels) {
  expect_accepted({
      {"a@my-host.example.com", "a", "my-host.example.com"},
      {"a@x--y.example", "a", "x--y.example"},
      {"a@1-2.example", "a", "1-2.example"},
  });
  expect_rejected({
      {"a@-host.example", "domain label starts with a hyphen"},
      {"a@host-.example", "domain label ends with a hyphen"},
      {"a@host.-", "domain label starts with a hyphen"},
  });
}

TEST(AddressParse, RejectsAddressLiteral) {
  expect_rejected({
      {"a@[192.0.2.1]", "address literals are not allowed"},
      {"a@[IPv6:2001:db8::1]", "address literals are not allowed"},
      {"a@[IPv6:::1]", "address literals are not allowed"},
      {"\"a\"@[192.0.2.1]", "address literals are not allowed"},
      // Without brackets a dotted quad is not a domain name either.
      {"a@192.0.2.1", "domain ends in an all-numeric label"},
      {"a@192.0.2.1.", "domain ends in an all-numeric label"},
  });
  expect_accepted({{"a@192.0.2.example", "a", "192.0.2.example"}});
}

TEST(AddressParse, RequiresAtLeastTwoDomainLabels) {
  expect_rejected({
      {"a@localhost", "domain needs at least two labels"},
      {"a@com.", "domain needs at least two labels"},
      {"a@B\xc3\xbc\x63her", "domain needs at least two labels"},
  });
}

TEST(AddressParse, RejectsInvalidDomainCharacters) {
  expect_rejected({
      {"a@ex_ample.com", "domain contains invalid character '_'"},
      {"a@b@example.com", "domain contains invalid character '@'"},
      {"a@exa mple.com", "domain contains a space"},
      {"a@example.com>", "domain contains invalid character '>'"},
      {std::string("a@exam\0ple.com"sv), "domain contains a control character"},
      {std::string("a@b\xc3\xbc\x63her.example\0.evil"sv), "domain contains a control character"},
  });
}

TEST(AddressParse, RemovesTrailingDot) {
  expect_accepted({
      {"a@example.com.", "a", "example.com"},
      {"a@B\xc3\xbc\x63her.example.", "a", "xn--bcher-kva.example"},
  });
}

TEST(AddressParse, ConvertsUnicodeDomainToALabel) {
  expect_accepted({
      {"user@b\xc3\xbc\x63her.example", "user", "xn--bcher-kva.example"},
      {"user@B\xc3\x9c\x43HER.Example", "user", "xn--bcher-kva.example"},
      // Non-transitional: "ß" is kept, not mapped to "ss".
      {"user@fa\xc3\x9f.de", "user", "xn--fa-hia.de"},
      // UTS #46 maps the ideographic full stop to a dot.
      {"user@\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x80\x82jp", "user", "xn--wgv71a119e.jp"},
      // IDNA2008 disallows the snowman; transitional processing still converts it.
      {"user@\xe2\x98\x83.com", "user", "xn--n3h.com"},
      // A-labels as given are checked and lowercased.
      {"user@xn--bcher-kva.example", "user", "xn--bcher-kva.example"},
      {"user@XN--BCHER-KVA.EXAMPLE", "user", "xn--bcher-kva.example"},
  });
}

TEST(AddressParse, RejectsInvalidInternationalisedDomains) {
  expect_rejected({
      {"user@xn--zz.example", "domain is not valid idna: string contains invalid punycode data"},
      {"user@b\xc3\xbc\x63her.xn--zz.example",
       "domain is not valid idna: string contains invalid punycode data"},
      {"user@-b\xc3\xbc\x63her.example",
       "domain is not valid idna: string start/ends with forbidden hyphen"},
      {"user@b\xc3\xbc\xff.example", "domain is not valid utf-8"},
      {"user@b\xc3.example", "domain is not valid utf-8"},
      {"user@" + std::string(60, 'b') + "\xc3\xbc\x63her.example",
       "domain label is longer than 63 octets"},
  });
}

TEST(AddressParse, RejectsControlCharactersAndSpaces) {
  expect_rejected({
      {"a\x01" "b@example.com", "local part contains a control character"},
      {"a\x7f@example.com", "local part contains a control character"},
      {std::string("a\0b@example.com"sv), "local part contains a control character"},
      {"a\rb@example.com", "local part contains a control character"},
      {"a\xc2\x85" "b@example.com", "local part contains a control character"},  // U+0085 NEL
      {"a b@example.com", "local part contains a space"},
      {"a,b@example.com", "local part contains invalid character ','"},
      {"<a@example.com>", "local part contains invalid character '<'"},
  });
}

TEST(AddressParse, RejectsLeadingOrTrailingWhitespace) {
  expect_rejected({
      {" a@example.com", "address has leading or trailing whitespace"},
      {"a@example.com ", "address has leading or trailing whitespace"},
      {"\ta@example.com", "address has leading or trailing whitespace"},
      {"a@example.com\r\n", "address has leading or trailing whitespace"},
  });
}

TEST(AddressParse, AcceptsUtf8LocalParts) {
  expect_accepted({
      {"j\xc3\xb6ran@example.com", "j\xc3\xb6ran", "example.com"},
      {"\xe7\x94\xa8\xe6\x88\xb7@example.com", "\xe7\x94\xa8\xe6\x88\xb7", "example.com"},
      {"\xf0\x9f\x98\x80.smile@example.com", "\xf0\x9f\x98\x80.smile", "example.com"},
      {"J\xc3\xb6ran@B\xc3\xbc\x63her.example", "J\xc3\xb6ran", "xn--bcher-kva.example"},
  });
}

TEST(AddressParse, RejectsInvalidUtf8LocalParts) {
  expect_rejected({
      {"\xff@example.com", "local part is not valid utf-8"},
      {"a\xc3@example.com", "local part is not valid utf-8"},         // truncated sequence
      {"\xc0\xaf@example.com", "local part is not valid utf-8"},      // overlong "/"
      {"\xe0\x80\xaf@example.com", "local part is not valid utf-8"},  // overlong "/"
      {"\xed\xa0\x80@example.com", "local part is not valid utf-8"},  // UTF-16 surrogate
      {"\xf4\x90\x80\x80@example.com", "local part is not valid utf-8"},  // past U+10FFFF
      {"\x80@example.com", "local part is not valid utf-8"},          // lone continuation
  });
}

TEST(AddressParse, ErrorNamesTheAddressOnOneLine) {
  EXPECT_EQ(parse_address("x").error, "invalid address \"x\": missing @");
  EXPECT_EQ(parse_address("a\nb@example.com").error,
            "invalid address \"a\\x0ab@example.com\": local part contains a control character");
  EXPECT_EQ(parse_address("a\"b@x.com").error,
            "invalid address \"a\\\"b@x.com\": local part contains invalid character '\"'");
  EXPECT_EQ(parse_address("\xff@x.com").error,
            "invalid address \"\\xff@x.com\": local part is not valid utf-8");
  EXPECT_EQ(parse_address("\xc3\xa9 @x.com").error,
            "invalid address \"\xc3\xa9 @x.com\": local part contains a space");

  // Echoes are cut short: errors may end up in a 512-octet SMTP reply line.
  const auto long_error = parse_address(std::string(1000, 'a') + "@example.com").error;
  EXPECT_EQ(long_error, "invalid address \"" + std::string(100, 'a') +
                            "...\": local part is longer than 64 octets");
}

TEST(AddressParse, StrJoinsLocalPartAndDomain) {
  const auto parsed = parse_address("\"A b\"@B\xc3\xbc\x63her.Example.");
  ASSERT_TRUE(parsed) << parsed.error;
  EXPECT_EQ(parsed->str(), "\"A b\"@xn--bcher-kva.example");
  EXPECT_EQ((Address{"x", "example.com"}.str()), "x@example.com");
}

TEST(AddressNormalizeDomain, LimitsDomainTo253Octets) {
  struct Case {
    std::string input;
    bool ok;
  };
  const std::vector<Case> cases = {
      {domain_of_size(253), true},
      {domain_of_size(253) + ".", true},
      {domain_of_size(254), false},
      {domain_of_size(255), false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input.size());
    const auto domain = normalize_domain(c.input);
    if (c.ok) {
      ASSERT_TRUE(domain) << domain.error;
      EXPECT_EQ(*domain, domain_of_size(253));
    } else {
      EXPECT_TRUE(domain.error.ends_with(": domain is longer than 253 octets")) << domain.error;
    }
  }
}

TEST(AddressNormalizeDomain, NormalisesLikeAddressDomains) {
  struct Case {
    std::string input;
    std::string expected;  // normalised domain, or the error for invalid input
  };
  const std::vector<Case> cases = {
      {"Example.COM", "example.com"},
      {"example.com.", "example.com"},
      {"B\xc3\xbc\x63her.Example", "xn--bcher-kva.example"},
      {"xn--BCHER-kva.example", "xn--bcher-kva.example"},
      {"localhost", "invalid domain \"localhost\": domain needs at least two labels"},
      {"[192.0.2.1]", "invalid domain \"[192.0.2.1]\": address literals are not allowed"},
      {"", "invalid domain \"\": domain is empty"},
      {" example.com", "invalid domain \" example.com\": domain contains a space"},
      {"-a.example", "invalid domain \"-a.example\": domain label starts with a hyphen"},
      {"xn--zz.example",
       "invalid domain \"xn--zz.example\": domain is not valid idna: string contains invalid "
       "punycode data"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    const auto domain = normalize_domain(c.input);
    EXPECT_EQ(domain ? *domain : domain.error, c.expected);
  }
}

TEST(AddressNormalizeUserName, LowercasesAndChecksCharacters) {
  struct Case {
    std::string input;
    std::string expected;  // normalised name, or the error for invalid input
  };
  const std::vector<Case> cases = {
      {"alice", "alice"},
      {"Alice.Smith", "alice.smith"},
      {"ALICE@EXAMPLE.COM", "alice@example.com"},
      {"a+b_c-d.e@f", "a+b_c-d.e@f"},
      {"0day", "0day"},
      {std::string(200, 'X'), std::string(200, 'x')},
      {"", "invalid user name \"\": must not be empty"},
      {std::string(201, 'x'),
       "invalid user name \"" + std::string(100, 'x') + "...\": is longer than 200 octets"},
      {".alice", "invalid user name \".alice\": must start with a letter or digit"},
      {"_alice", "invalid user name \"_alice\": must start with a letter or digit"},
      {"@alice", "invalid user name \"@alice\": must start with a letter or digit"},
      {" alice", "invalid user name \" alice\": contains a space"},
      {"alice ", "invalid user name \"alice \": contains a space"},
      {"al ice", "invalid user name \"al ice\": contains a space"},
      {"alice\n", "invalid user name \"alice\\x0a\": contains a control character"},
      {"al/ice", "invalid user name \"al/ice\": contains invalid character '/'"},
      {"j\xc3\xb6ran", "invalid user name \"j\xc3\xb6ran\": contains a non-ascii character"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.input);
    const auto name = normalize_user_name(c.input);
    EXPECT_EQ(name ? *name : name.error, c.expected);
  }
}

}  // namespace
}  // namespace postern::schema
