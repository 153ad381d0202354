// A handler's `when` (server/handlers/conditions.hpp): each condition alone, together, and the
// header patterns' bound on hostile input.
#include "server/handlers/conditions.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

// Conditions are built with designated initializers naming only the conditions a test sets.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace postern::handlers {
namespace {

struct Message {
  std::string sender = "alice@example.com";
  std::vector<std::string> recipients = {"bob@example.net", "carol@example.org"};
  std::string user = "alice";
  std::string header_section = "From: alice@example.com\r\nSubject: Voice message from 030 1234\r\n\r\n";
  std::uint64_t size = 1000;

  bool matches(const Conditions& when) const {
    return conditions_hold(when, MessageFacts{sender, recipients, user, header_section, size, "+"});
  }
};

HeaderMatch header(const std::string& name, const std::string& pattern) { return {name, HeaderPattern(pattern)}; }

TEST(HandlerConditions, NoConditionMatchesEveryMessage) { EXPECT_TRUE(Message{}.matches(Conditions{})); }

TEST(HandlerConditions, SenderComparesLikeTheGrantCheck) {
  Message m;
  EXPECT_TRUE(m.matches({.sender = "alice@example.com"}));
  EXPECT_FALSE(m.matches({.sender = "bob@example.com"}));
  m.sender = "Alice+pbx@EXAMPLE.com";  // case and subaddress, as the grant check takes them
  EXPECT_TRUE(m.matches({.sender = "alice@example.com"}));
  m.sender = "";  // the null sender matches no address condition
  EXPECT_FALSE(m.matches({.sender = "alice@example.com"}));
  EXPECT_FALSE(m.matches({.sender_domain = "example.com"}));
}

TEST(HandlerConditions, SenderDomainIsThatDomainOnly) {
  Message m;
  EXPECT_TRUE(m.matches({.sender_domain = "example.com"}));
  m.sender = "alice@sub.example.com";
  EXPECT_FALSE(m.matches({.sender_domain = "example.com"}));
}

TEST(HandlerConditions, UserIsExact) {
  Message m;
  EXPECT_TRUE(m.matches({.user = "alice"}));
  EXPECT_FALSE(m.matches({.user = "bob"}));
}

TEST(HandlerConditions, RecipientMatchesWhenAnyRecipientDoes) {
  Message m;
  EXPECT_TRUE(m.matches({.recipient = "carol@example.org"}));
  EXPECT_TRUE(m.matches({.recipient = "BOB@example.net"}));
  EXPECT_FALSE(m.matches({.recipient = "dave@example.org"}));
  EXPECT_TRUE(m.matches({.recipient_domain = "example.org"}));
  EXPECT_FALSE(m.matches({.recipient_domain = "example.com"}));
  m.recipients.clear();
  EXPECT_FALSE(m.matches({.recipient_domain = "example.org"}));
}

TEST(HandlerConditions, SizeAboveAndBelowAreStrict) {
  Message m;
  EXPECT_TRUE(m.matches({.size_above = 999}));
  EXPECT_FALSE(m.matches({.size_above = 1000}));
  EXPECT_TRUE(m.matches({.size_below = 1001}));
  EXPECT_FALSE(m.matches({.size_below = 1000}));
  EXPECT_TRUE(m.matches({.size_above = 500, .size_below = 2000}));
}

TEST(HandlerConditions, HeaderMatchesAnyFieldOfThatNameUnfoldedAndDecoded) {
  Message m;
  EXPECT_TRUE(m.matches({.header = header("subject", "^Voice message")}));
  EXPECT_FALSE(m.matches({.header = header("Subject", "^message")}));
  EXPECT_FALSE(m.matches({.header = header("X-Absent", "")}));
  EXPECT_TRUE(m.matches({.header = header("Subject", "(?i)^VOICE")}));
  m.header_section = "X-Tag: one\r\nX-Tag: two\r\n\tfolded\r\n\r\n";
  EXPECT_TRUE(m.matches({.header = header("X-Tag", "^two\\sfolded$")}));
  m.header_section = "Subject: =?UTF-8?B?U3ByYWNobmFjaHJpY2h0?=\r\n\r\n";
  EXPECT_TRUE(m.matches({.header = header("Subject", "^Sprachnachricht$")}));
}

TEST(HandlerConditions, EveryConditionMustHold) {
  const Message m;
  EXPECT_TRUE(m.matches({.sender_domain = "example.com", .user = "alice", .recipient = "bob@example.net"}));
  EXPECT_FALSE(m.matches({.sender_domain = "example.com", .user = "bob", .recipient = "bob@example.net"}));
  EXPECT_FALSE(m.matches({.sender_domain = "example.com", .header = header("Subject", "^Invoice")}));
}

TEST(HeaderPattern, RefusesABadPatternWithItsOffset) {
  try {
    HeaderPattern bad("(unclosed");
    FAIL() << "compiled";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("at offset 9"), std::string::npos) << e.what();
  }
}

TEST(HeaderPattern, CatastrophicBacktrackingEndsAsNoMatch) {
  const HeaderPattern pattern("^(a+)+$");
  EXPECT_TRUE(pattern.search("aaaa"));
  EXPECT_FALSE(pattern.search(std::string(5000, 'a') + "b"));  // bounded, not minutes
}

TEST(HeaderPattern, MatchesBytesThatAreNotUtf8) {
  const HeaderPattern pattern("caf.");
  EXPECT_TRUE(pattern.search(std::string("caf\xe9", 4)));
}

}  // namespace
}  // namespace postern::handlers
