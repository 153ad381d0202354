#include "server/filters/address_list.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::filters {
namespace {

struct Valid {
  const char* value;
  std::vector<std::string> addr_specs;
  bool has_group = false;
};

TEST(FiltersAddressList, FindsEveryMailbox) {
  const std::vector<Valid> cases{
      {"alice@example.com", {"alice@example.com"}},
      {"<alice@example.com>", {"alice@example.com"}},
      {"Alice <alice@example.com>", {"alice@example.com"}},
      {" \tAlice\t<alice@example.com>\t", {"alice@example.com"}},
      {"\"Alice\" <alice@example.com>", {"alice@example.com"}},
      {"\"Smith, John\" <john@example.com>", {"john@example.com"}},
      {"\"Smith, John\" <john@example.com>, bob@example.org",
       {"john@example.com", "bob@example.org"}},
      {"a@example.com,b@example.org,\"C, D\" <c@example.net>",
       {"a@example.com", "b@example.org", "c@example.net"}},
      {"\"quoted \\\" pair, <x@evil.test>\" <x@example.com>", {"x@example.com"}},
      {"\"alice@example.com\" <mallory@example.net>", {"mallory@example.net"}},
      // Comments (RFC 5322 §3.2.2), nested and with quoted-pairs, wherever CFWS may go.
      {"alice@example.com (Alice Example)", {"alice@example.com"}},
      {"(c) Alice (x) <alice (y) @ (z) example.com (w)> (v)", {"alice@example.com"}},
      {"Alice (nested (comment \\) <evil@x.test>) here) <a@example.com>", {"a@example.com"}},
      {"(a, b@evil.test) c@example.com", {"c@example.com"}},
      // Encoded-words (RFC 2047) and raw UTF-8 (RFC 6532) display names are skipped as words.
      {"=?UTF-8?B?SsO2cmc=?= <jorg@example.com>", {"jorg@example.com"}},
      {"=?utf-8?q?M=C3=BCller=2C_Hans?= <h@example.com>", {"h@example.com"}},
      {"J\xc3\xb6rg M\xc3\xbcller <joerg@example.com>", {"joerg@example.com"}},
      {"\"J\xc3\xb6rg\" <j\xc3\xb6rg@b\xc3\xbc" "cher.example>",  // jörg@bücher.example
       {"j\xc3\xb6rg@b\xc3\xbc" "cher.example"}},
      // Quoted local parts and domain literals keep their delimiters.
      {"\"a b\"@example.com", {"\"a b\"@example.com"}},
      {"Name <\"a.b\"@example.com>", {"\"a.b\"@example.com"}},
      {"x@[192.0.2.1]", {"x@[192.0.2.1]"}},
      // Obsolete syntax (RFC 5322 §4): phrase dots, CFWS around dots, empty elements, routes.
      {"John Q. Public <jqp@example.com>", {"jqp@example.com"}},
      {"a . b @ example . com", {"a.b@example.com"}},
      {"a@example.com, , b@example.org,", {"a@example.com", "b@example.org"}},
      {"<@relay.example,@other.example:alice@example.com>", {"alice@example.com"}},
      // Groups (RFC 5322 §3.4).
      {"undisclosed-recipients:;", {}, true},
      {"Friends: a@example.com, Bob <b@example.org>;", {"a@example.com", "b@example.org"}, true},
      {"Friends: a@example.com;, c@example.net", {"a@example.com", "c@example.net"}, true},
      {"Team (x): ;", {}, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value);
    const auto list = parse_address_list(c.value);
    EXPECT_EQ(list.error, "");
    EXPECT_EQ(list.addr_specs, c.addr_specs);
    EXPECT_EQ(list.has_group, c.has_group);
  }
}

struct Invalid {
  const char* value;
  const char* error;
};

TEST(FiltersAddressList, RefusesWhatIsNotAnAddressList) {
  const std::vector<Invalid> cases{
      {"", "no address"},
      {" (just a comment) ", "no address"},
      {" , ,", "no address"},
      {"alice", "missing @ in address"},
      {"Alice alice@example.com", "missing @ in address"},
      {"alice@example.com <mallory@example.net>", "expected a comma between addresses"},
      {"alice@example.com bob@example.org", "expected a comma between addresses"},
      {"Alice <alice@example.com", "missing '>'"},
      {"Alice <alice@example.com, b@example.org>", "missing '>'"},
      {"Alice <>", "expected an address"},
      {"<alice@example.com>>", "expected a comma between addresses"},
      {"@example.com", "expected an address"},
      {"\"Alice <a@example.com>", "unclosed quoted string"},
      {"Alice (x <a@example.com>", "unclosed comment"},
      {"Alice ((x) <a@example.com>", "unclosed comment"},
      {"Alice) <a@example.com>", "unexpected ')'"},
      {"a@example.com]", "unexpected ']'"},
      {"Al\\ice <a@example.com>", "unexpected '\\'"},
      {"a@", "missing domain in address"},
      {"a@\"example.com\"", "missing domain in address"},
      {"a@example..com", "malformed domain"},
      {"a@example.com.", "malformed domain"},
      {"a..b@example.com", "malformed local part"},
      {".a@example.com", "expected an address"},
      {"a@[192.0.[2].1]", "malformed domain literal"},
      {"a@[192.0.2.1", "malformed domain literal"},
      {"<@relay.example alice@example.com>", "malformed source route"},
      {"Friends: a@example.com", "unclosed group"},
      {"Friends: a@example.com b@example.org;", "expected a comma between addresses"},
      {"A: B: c@example.com;;", "missing @ in address"},  // groups do not nest
      {"a@example.com\x01", "control character"},
      {"a@example.com\x7f", "control character"},
      {"a@example.com\r\n b@example.org", "control character"},  // callers unfold first
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value);
    const auto list = parse_address_list(c.value);
    EXPECT_EQ(list.error, c.error);
    EXPECT_TRUE(list.addr_specs.empty());
    EXPECT_TRUE(list.display_names.empty());
    EXPECT_TRUE(list.comments.empty());
    EXPECT_FALSE(list.has_group);
  }
}

struct Shown {
  const char* value;
  std::vector<std::string> display_names;
  std::vector<std::string> comments;
};

// What a reader shows besides the addresses: display names unquoted, comments without parens.
TEST(FiltersAddressList, ReportsDisplayNamesAndComments) {
  const std::vector<Shown> cases{
      {"alice@example.com", {}, {}},
      {"<alice@example.com>", {}, {}},
      {"Alice <alice@example.com>", {"Alice"}, {}},
      {" Alice \t Smith <alice@example.com>", {"Alice Smith"}, {}},
      {"\"Smith, Alice\" <alice@example.com>, bob@example.org", {"Smith, Alice"}, {}},
      {"\"ceo@victim.example\" <me@mine.example>", {"ceo@victim.example"}, {}},
      {"\"\\\" <ceo@victim.example>\" <me@mine.example>", {"\" <ceo@victim.example>"}, {}},
      {"John Q. Public <jqp@example.com>", {"John Q. Public"}, {}},
      {"=?UTF-8?B?SsO2cmc=?= <jorg@example.com>", {"=?UTF-8?B?SsO2cmc=?="}, {}},
      {"A <a@example.com>, \"B\" <b@example.org>", {"A", "B"}, {}},
      {"alice@example.com (Alice)", {}, {"Alice"}},
      {"Al (x) <a@example.com> (ceo@victim.example)", {"Al"}, {"x", "ceo@victim.example"}},
      {"a@example.com (nested (y) \\) z)", {}, {"nested (y) ) z"}},
      {"Friends: Bob <b@example.org>;", {"Bob"}, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value);
    const auto list = parse_address_list(c.value);
    EXPECT_EQ(list.error, "");
    EXPECT_EQ(list.display_names, c.display_names);
    EXPECT_EQ(list.comments, c.comments);
  }
}

}  // namespace
}  // namespace postern::filters
