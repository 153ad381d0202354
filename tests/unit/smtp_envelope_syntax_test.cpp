// The envelope's syntax: path arguments, MAIL parameters, source routes and mailboxes.
#include "server/smtp/envelope_syntax.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace smtp;

TEST(SmtpEnvelopeSyntax, SplitsPathAndParameters) {
  const auto split = split_path_argument("FROM:<a@example.org> SIZE=1 BODY=8BITMIME", "FROM:");
  ASSERT_TRUE(split);
  EXPECT_EQ(split->path, "a@example.org");
  EXPECT_EQ(split->parameters, "SIZE=1 BODY=8BITMIME");
}

TEST(SmtpEnvelopeSyntax, KeywordIsCaseInsensitiveAndMayBeFollowedByOneSpace) {
  EXPECT_EQ(split_path_argument("to: <b@example.net>", "TO:")->path, "b@example.net");
  EXPECT_FALSE(split_path_argument("TO:  <b@example.net>", "TO:"));
  EXPECT_FALSE(split_path_argument("TO <b@example.net>", "TO:"));
  EXPECT_FALSE(split_path_argument("T", "TO:"));
}

TEST(SmtpEnvelopeSyntax, PathNeedsBothAngleBrackets) {
  EXPECT_FALSE(split_path_argument("TO:b@example.net", "TO:"));
  EXPECT_FALSE(split_path_argument("TO:<b@example.net", "TO:"));
  EXPECT_FALSE(split_path_argument("TO:<b@example.net>x", "TO:"));
  EXPECT_EQ(split_path_argument("TO:<>", "TO:")->path, "");
}

TEST(SmtpEnvelopeSyntax, AngleBracketInQuotedLocalPartDoesNotClosePath) {
  EXPECT_EQ(split_path_argument("TO:<\"a>b\"@example.net>", "TO:")->path, "\"a>b\"@example.net");
  EXPECT_EQ(split_path_argument("TO:<\"a\\\">\"@example.net>", "TO:")->path, "\"a\\\">\"@example.net");
  EXPECT_FALSE(split_path_argument("TO:<\"a>", "TO:"));
}

TEST(SmtpEnvelopeSyntax, ParsesKnownParameters) {
  const auto parse = parse_mail_parameters("size=100  BODY=8bitmime SmtpUtf8 AUTH=<>", 1000);
  EXPECT_EQ(parse.problem, ParameterProblem::None);
  EXPECT_EQ(parse.parameters.body, BodyType::EightBitMime);
  EXPECT_TRUE(parse.parameters.smtputf8);
  EXPECT_EQ(parse_mail_parameters("", 1000).problem, ParameterProblem::None);
  EXPECT_EQ(parse_mail_parameters("", 1000).parameters.body, BodyType::SevenBit);
}

TEST(SmtpEnvelopeSyntax, SizeAboveTheLimitIsTooLarge) {
  EXPECT_EQ(parse_mail_parameters("SIZE=1000", 1000).problem, ParameterProblem::None);
  EXPECT_EQ(parse_mail_parameters("SIZE=1001", 1000).problem, ParameterProblem::TooLarge);
  EXPECT_EQ(parse_mail_parameters("SIZE=184467440737095516160", 1000).problem, ParameterProblem::TooLarge);
}

TEST(SmtpEnvelopeSyntax, MalformedOrUnknownParametersAreUnsupported) {
  for (const char* text : {"SIZE=", "SIZE", "SIZE=-1", "SIZE=1 SIZE=1", "BODY=BINARYMIME", "BODY", "SMTPUTF8=1",
                           "AUTH", "AUTH=", "RET=FULL", "ENVID=x", "=1"}) {
    EXPECT_EQ(parse_mail_parameters(text, 1000).problem, ParameterProblem::Unsupported) << text;
  }
}

TEST(SmtpEnvelopeSyntax, SourceRouteIsDropped) {
  EXPECT_EQ(strip_source_route("a@example.org"), "a@example.org");
  EXPECT_EQ(strip_source_route("@hop.example:a@example.org"), "a@example.org");
  EXPECT_EQ(strip_source_route("@one.example,@two.example:a@example.org"), "a@example.org");
  EXPECT_FALSE(strip_source_route("@hop.example"));
  EXPECT_FALSE(strip_source_route("@:a@example.org"));
  EXPECT_FALSE(strip_source_route("@one.example,two.example:a@example.org"));
}

TEST(SmtpEnvelopeSyntax, ValidMailboxes) {
  for (const char* mailbox : {"a@example.org", "first.last+tag@sub.example.org", "x!#$%&'*+-/=?^_`{|}~@example.org",
                              "\"quoted\"@example.org", "\"a\\\"b\"@example.org", "a@[192.0.2.1]",
                              "a@[IPv6:2001:db8::1]", "a@localhost", "a@xn--bcher-kva.example"}) {
    EXPECT_EQ(check_mailbox(mailbox, false), MailboxProblem::None) << mailbox;
  }
}

TEST(SmtpEnvelopeSyntax, InvalidMailboxes) {
  for (const char* mailbox : {"", "a", "a@", "@example.org", "a b@example.org", "a@exa mple.org", "a\t@example.org",
                              "a\x7F@example.org", ".a@example.org", "a.@example.org", "a..b@example.org",
                              "a@example..org", "a@.example.org", "a@example.org.", "a@-example.org",
                              "a@example-.org", "a@exa_mple.org", "a(b)@example.org", "a@b@example.org",
                              "\"a\"b\"@example.org", "\"a\\\"@example.org", "a@[]", "a@[1.2.3.4", "a@[a]b]"}) {
    EXPECT_EQ(check_mailbox(mailbox, true), MailboxProblem::BadSyntax) << mailbox;
  }
}

TEST(SmtpEnvelopeSyntax, MailboxLengthLimit) {
  const std::string domain = "@example.org";
  EXPECT_EQ(check_mailbox(std::string(kMaxMailboxLength - domain.size(), 'a') + domain, false), MailboxProblem::None);
  EXPECT_EQ(check_mailbox(std::string(kMaxMailboxLength - domain.size() + 1, 'a') + domain, false),
            MailboxProblem::BadSyntax);
  EXPECT_EQ(check_mailbox("a@" + std::string(64, 'b') + ".org", false), MailboxProblem::BadSyntax);
}

TEST(SmtpEnvelopeSyntax, NonAsciiNeedsSmtpUtf8) {
  EXPECT_EQ(check_mailbox("j\xC3\xBCrgen@example.org", false), MailboxProblem::NonAsciiWithoutSmtpUtf8);
  EXPECT_EQ(check_mailbox("j\xC3\xBCrgen@example.org", true), MailboxProblem::None);
  EXPECT_EQ(check_mailbox("a@b\xC3\xBC" "cher.example", true), MailboxProblem::None);
  EXPECT_EQ(check_mailbox("\"j\xC3\xBCrgen\"@example.org", true), MailboxProblem::None);
}

TEST(SmtpEnvelopeSyntax, MalformedUtf8IsBadSyntax) {
  for (const char* mailbox : {"j\xC3rgen@example.org", "j\xC3\xBC\xBCrgen@example.org", "\xC0\xAF@example.org",
                              "\xED\xA0\x80@example.org", "\xF4\x90\x80\x80@example.org", "\xFF@example.org",
                              "a@example.org\xE2\x82"}) {
    EXPECT_EQ(check_mailbox(mailbox, true), MailboxProblem::BadSyntax) << mailbox;
  }
}

}  // namespace
