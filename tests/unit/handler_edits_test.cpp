// The built-in handler actions that change a message (server/handlers/edits.hpp).
#include "server/handlers/edits.hpp"

#include <gtest/gtest.h>

namespace postern::handlers {
namespace {

const std::string kHead =
    "From: Alice <alice@example.com>\r\n"
    "To: bob@example.net,\r\n carol@example.org\r\n"
    "Subject: Hi\r\n"
    "X-Secret: 1\r\n"
    "x-secret: 2\r\n"
    "\r\n";

Draft draft() { return Draft{"alice@example.com", {"bob@example.net", "carol@example.org"}, kHead}; }

TEST(HandlerEdits, SetRecipientReplacesTheEnvelopeAndTo) {
  Draft d = draft();
  apply(d, SetRecipient{"archive@example.org"});
  EXPECT_EQ(d.recipients, std::vector<std::string>{"archive@example.org"});
  EXPECT_EQ(d.header_section,
            "From: Alice <alice@example.com>\r\nTo: archive@example.org\r\nSubject: Hi\r\n"
            "X-Secret: 1\r\nx-secret: 2\r\n\r\n");
  EXPECT_EQ(d.sender, "alice@example.com");
}

TEST(HandlerEdits, SetSenderReplacesTheEnvelopeAndFrom) {
  Draft d = draft();
  apply(d, SetSender{"noreply@example.com", "", false});
  EXPECT_EQ(d.sender, "noreply@example.com");
  EXPECT_TRUE(d.header_section.starts_with("From: noreply@example.com\r\nTo: bob@example.net,\r\n"));
  apply(d, SetSender{"noreply@example.com", "Example Robot", false});
  EXPECT_TRUE(d.header_section.starts_with("From: Example Robot <noreply@example.com>\r\n"));
  apply(d, SetSender{"noreply@example.com", "Robot, \"the\" one", false});
  EXPECT_TRUE(d.header_section.starts_with("From: \"Robot, \\\"the\\\" one\" <noreply@example.com>\r\n"))
      << d.header_section;
}

TEST(HandlerEdits, SetSenderAddsFromWhenThereIsNone) {
  Draft d{"a@example.com", {"b@example.net"}, "Subject: x\r\n\r\n"};
  apply(d, SetSender{"a@example.com", "", false});
  EXPECT_EQ(d.header_section, "Subject: x\r\nFrom: a@example.com\r\n\r\n");
}

TEST(HandlerEdits, AddHeaderGoesAtTheEndOfTheHeaderSection) {
  Draft d = draft();
  apply(d, AddHeader{"X-Tag", "tagged"});
  EXPECT_TRUE(d.header_section.ends_with("x-secret: 2\r\nX-Tag: tagged\r\n\r\n"));
}

TEST(HandlerEdits, RemoveHeaderRemovesEveryFieldOfThatName) {
  Draft d = draft();
  apply(d, RemoveHeader{"X-SECRET"});
  EXPECT_EQ(d.header_section,
            "From: Alice <alice@example.com>\r\nTo: bob@example.net,\r\n carol@example.org\r\nSubject: Hi\r\n\r\n");
  apply(d, RemoveHeader{"To"});  // with its continuation line
  EXPECT_EQ(d.header_section, "From: Alice <alice@example.com>\r\nSubject: Hi\r\n\r\n");
  apply(d, RemoveHeader{"Absent"});
  EXPECT_EQ(d.header_section, "From: Alice <alice@example.com>\r\nSubject: Hi\r\n\r\n");
}

TEST(HandlerEdits, HeaderSectionWithoutBody) {
  // A message that is all header section (no empty line): fields still go inside it.
  EXPECT_EQ(add_field("Subject: x\r\n", "X-A", "1"), "Subject: x\r\nX-A: 1\r\n");
  EXPECT_EQ(add_field("Subject: x", "X-A", "1"), "Subject: x\r\nX-A: 1\r\n");  // never joins a line
  // A message that starts with its empty line has an empty header section.
  EXPECT_EQ(add_field("\r\n", "X-A", "1"), "X-A: 1\r\n\r\n");
  EXPECT_EQ(replace_field("\r\n", "To", "a@b.example"), "To: a@b.example\r\n\r\n");
  EXPECT_EQ(remove_fields("\r\n", "To"), "\r\n");
}

TEST(HandlerEdits, ReplaceKeepsThePlaceOfTheFirstField) {
  EXPECT_EQ(replace_field("A: 1\r\nTo: x\r\nB: 2\r\nTo: y\r\n\r\n", "to", "z"), "A: 1\r\nto: z\r\nB: 2\r\n\r\n");
}

}  // namespace
}  // namespace postern::handlers
