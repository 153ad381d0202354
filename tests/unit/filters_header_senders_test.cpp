#include "server/filters/header_senders.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::filters {
namespace {

using schema::SenderPolicy;
using schema::UserGrants;

const UserGrants kGrants{.addresses = {"alice@example.com"}, .domains = {"team.example"}};
const SenderPolicy kDefault{};
const SenderPolicy kCaseSensitive{.local_part_case_sensitive = true, .subaddress_delimiter = {}};
const SenderPolicy kPlus{.local_part_case_sensitive = false, .subaddress_delimiter = "+"};

TEST(FiltersHeaderSenders, AllowsOwnedFromAndSender) {
  const std::vector<std::string> messages{
      "From: alice@example.com\r\n\r\nHello\r\n",
      "From: Alice <alice@example.com>\r\n",
      "From: alice@example.com",
      "FROM: ALICE@EXAMPLE.COM\r\n",
      "from : alice@Example.Com\r\n",
      "From: \"Smith, Alice\" <alice@example.com>\r\n",
      "From: alice@example.com (Alice)\r\n",
      "From: (Alice) alice (x) @ example.com\r\n",
      "From: Alice\r\n <alice@example.com>\r\n",
      "From:\r\n Alice (folded\r\n\tcomment)\r\n <alice@example.com>\r\n\r\n",
      "From: =?UTF-8?B?QWxpY2U=?= <alice@example.com>\r\n",
      "From: =?UTF-8?B?5bGx55Sw5aSq6YOO?= <alice@example.com>\r\n",
      "From: \"alice@example.com\" <alice@example.com>\r\n",
      "From: \"Alice (alice@example.com)\" <alice@example.com>\r\n",
      "From: x@TEAM.EXAMPLE\r\n",
      "From: anyone@team.example, Alice <alice@example.com>\r\nSender: alice@example.com\r\n",
      "From: alice@example.com\r\nSender: Bob <bob@team.example>\r\n",
      "Subject: hi\r\nFrom: alice@example.com\r\nTo: bob@example.org\r\n\r\n"
      "From: mallory@example.net\r\nFrom: again@example.net\r\n",
  };
  for (const auto& message : messages) {
    SCOPED_TRACE(message);
    const auto check = check_header_senders(message, kGrants, kDefault);
    EXPECT_TRUE(check.allowed);
    EXPECT_EQ(check.reason, "");
  }
}

struct Refused {
  std::string message;
  std::string reason;
};

TEST(FiltersHeaderSenders, RefusesForeignOrMalformedSenders) {
  const std::vector<Refused> cases{
      // Spoofing: the envelope passed, the header names someone else.
      {"From: mallory@example.net\r\n\r\nbody",
       "header From <mallory@example.net> not owned by user"},
      {"From: Alice <mallory@example.net>\r\n",
       "header From <mallory@example.net> not owned by user"},
      {"From: \"alice@example.com\" <mallory@example.net>\r\n",
       "header From <mallory@example.net> not owned by user"},
      {"From: Alice\r\n <mallory@example.net>\r\n",
       "header From <mallory@example.net> not owned by user"},
      {"From\t: mallory@example.net\r\n", "header From <mallory@example.net> not owned by user"},
      {"From: alice@example.com, mallory@example.net\r\nSender: alice@example.com\r\n",
       "header From <mallory@example.net> not owned by user"},
      {"From: x@sub.team.example\r\n", "header From <x@sub.team.example> not owned by user"},
      {"From: \"alice\"@example.com\r\n", "header From <\"alice\"@example.com> not owned by user"},
      {"From: alice@example.com\r\nSender: mallory@example.net\r\n",
       "header Sender <mallory@example.net> not owned by user"},
      // RFC 5322 §3.6: exactly one From, at most one Sender.
      {"Subject: x\r\n\r\nFrom: alice@example.com\r\n", "message has no From header"},
      {"\r\nFrom: alice@example.com\r\n", "message has no From header"},
      {"", "message has no From header"},
      {"From alice@example.com\r\n", "message has no From header"},
      {"From: alice@example.com\r\nfrom: alice@example.com\r\n",
       "message has more than one From header"},
      {"From: alice@example.com\r\nSender: alice@example.com\r\nSENDER: alice@example.com\r\n",
       "message has more than one Sender header"},
      // RFC 5322 §3.6.2: From is a mailbox-list, Sender a single mailbox.
      {"From: undisclosed:;\r\n", "malformed From header: group syntax not allowed"},
      {"From: Team: alice@example.com;\r\n", "malformed From header: group syntax not allowed"},
      {"From: alice@example.com\r\nSender: Team: alice@example.com;\r\n",
       "malformed Sender header: group syntax not allowed"},
      {"From: alice@example.com\r\nSender: alice@example.com, x@team.example\r\n",
       "malformed Sender header: more than one mailbox"},
      {"From: \r\n", "malformed From header: no address"},
      {"From: alice\r\n", "malformed From header: missing @ in address"},
      {"From: Alice <alice@example.com\r\n", "malformed From header: missing '>'"},
      {"From: alice@example.com\r\nSender: (x\r\n", "malformed Sender header: unclosed comment"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    const auto check = check_header_senders(c.message, kGrants, kDefault);
    EXPECT_FALSE(check.allowed);
    EXPECT_EQ(check.reason, c.reason);
  }
}

// A reader shows the display name, not the address: one that looks like another address is a
// forged author even when the address is the user's own.
TEST(FiltersHeaderSenders, RefusesDisplayNamesThatLookLikeAnotherAddress) {
  const std::vector<Refused> cases{
      {"From: \"ceo@victim.example\" <alice@example.com>\r\n",
       "header From display name looks like an address"},
      {"From: \"\\\" <ceo@victim.example>\" <alice@example.com>\r\n",
       "header From display name looks like an address"},
      {"From: =?UTF-8?B?Y2VvQHZpY3RpbS5leGFtcGxl?= <alice@example.com>\r\n",
       "header From display name looks like an address"},
      {"From: =?ISO-8859-1?Q?CEO_=3Cceo=40victim=2Eexample=3E?= <alice@example.com>\r\n",
       "header From display name looks like an address"},
      {"From: Bob <bob@team.example>, \"ceo@victim.example\" <alice@example.com>\r\n",
       "header From display name looks like an address"},
      {"From: alice@example.com (ceo@victim.example)\r\n",
       "header From comment looks like an address"},
      {"From: alice@example.com\r\nSender: \"ceo@victim.example\" <x@team.example>\r\n",
       "header Sender display name looks like an address"},
      // Ownership is checked first: its reason names the address.
      {"From: \"ceo@victim.example\" <mallory@example.net>\r\n",
       "header From <mallory@example.net> not owned by user"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    const auto check = check_header_senders(c.message, kGrants, kDefault);
    EXPECT_FALSE(check.allowed);
    EXPECT_EQ(check.reason, c.reason);
    // policy.address_like_display_names: allow keeps only the ownership check.
    const auto allowed = check_header_senders(c.message, kGrants, kDefault, AddressLikeDisplayNames::Allow);
    EXPECT_EQ(allowed.allowed, c.reason.find(" not owned ") == std::string::npos) << allowed.reason;
  }
}

TEST(FiltersHeaderSenders, AddressTheSchemaRefusesIsMalformed) {
  const auto check = check_header_senders("From: alice@[192.0.2.1]\r\n", kGrants, kDefault);
  EXPECT_FALSE(check.allowed);
  EXPECT_TRUE(check.reason.starts_with("malformed From header: invalid address ")) << check.reason;
  EXPECT_EQ(check.reason.find_first_of("\r\n"), std::string::npos);
}

TEST(FiltersHeaderSenders, LocalPartCaseFollowsPolicy) {
  const std::string message = "From: Alice <ALICE@example.com>\r\n";
  EXPECT_TRUE(check_header_senders(message, kGrants, kDefault).allowed);
  const auto check = check_header_senders(message, kGrants, kCaseSensitive);
  EXPECT_FALSE(check.allowed);
  EXPECT_EQ(check.reason, "header From <ALICE@example.com> not owned by user");
  // A domain grant covers any local part whatever the case policy.
  EXPECT_TRUE(check_header_senders("From: Bob@team.example\r\n", kGrants, kCaseSensitive).allowed);
}

TEST(FiltersHeaderSenders, SubaddressFollowsPolicy) {
  const std::string message = "From: alice+news@example.com\r\nSender: Alice+x@example.com\r\n";
  EXPECT_TRUE(check_header_senders(message, kGrants, kPlus).allowed);
  const auto check = check_header_senders(message, kGrants, kDefault);
  EXPECT_FALSE(check.allowed);
  EXPECT_EQ(check.reason, "header From <alice+news@example.com> not owned by user");
}

TEST(FiltersHeaderSenders, NoGrantsNoSenders) {
  const auto check = check_header_senders("From: alice@example.com\r\n", UserGrants{}, kDefault);
  EXPECT_FALSE(check.allowed);
  EXPECT_EQ(check.reason, "header From <alice@example.com> not owned by user");
}

}  // namespace
}  // namespace postern::filters
