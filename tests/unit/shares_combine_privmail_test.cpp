// postern-combine's privmail side: collecting privmail share mails by UID (a copy counted once,
// since the same share twice would cancel out of the XOR), combining a group, and the message
// written for it.
#include "combine/privmail_group_combination.hpp"
#include "combine/privmail_restored_message.hpp"
#include "combine/share_collection.hpp"
#include "shares/privmail_share_mail.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace postern::combine;
using namespace postern::shares;

PrivmailContent test_content() {
  PrivmailContent content;
  content.from = "Alice <alice@example.com>";
  content.to = "bob@proxy.example";
  content.cc = "carol@example.org";
  content.subject = "Lunch on Friday";
  content.text = "Shall we meet at noon?\r\nAlice\r\n";
  return content;
}

Seed test_seed(std::uint8_t first) {
  Seed seed{};
  seed.fill(first);
  return seed;
}

TEST(SharesCombinePrivmail, CollectsByUidCombinesAndWritesTheMessage) {
  const Seed seed = test_seed(1);
  ShareCollection collection;
  for (unsigned index = 1; index <= 3; ++index) {
    collection.add({"mail-" + std::to_string(index), write_privmail_share_mail(test_content(), index, 3, seed)});
  }
  collection.add({"mail-1-again", write_privmail_share_mail(test_content(), 1, 3, seed)});
  collection.add({"plain", "Subject: hi\r\n\r\nhello\r\n"});
  EXPECT_TRUE(collection.groups().empty());
  EXPECT_EQ(collection.other_mails(), 1u);
  ASSERT_EQ(collection.privmail_groups().size(), 1u);
  const auto& [uid, group] = *collection.privmail_groups().begin();
  EXPECT_EQ(uid, privmail_uid(seed));
  EXPECT_EQ(group.size(), 3u);

  const GroupOutcome outcome = combine_privmail_group(group);
  EXPECT_TRUE(outcome.problems.empty());
  EXPECT_EQ(outcome.message,
            "From: Alice <alice@example.com>\r\nTo: bob@proxy.example\r\nCc: carol@example.org\r\n"
            "Subject: Lunch on Friday\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n"
            "Content-Transfer-Encoding: 7bit\r\n\r\nShall we meet at noon?\r\nAlice\r\n");
  EXPECT_EQ(privmail_output_name(uid).size(), std::string("privmail-").size() + 12);
  EXPECT_EQ(privmail_output_name("AAECAwQF"), "privmail-000102030405");
}

TEST(SharesCombinePrivmail, AnIncompleteGroupNamesItsMails) {
  ShareCollection collection;
  collection.add({"mail-1", write_privmail_share_mail(test_content(), 1, 3, test_seed(2))});
  collection.add({"mail-3", write_privmail_share_mail(test_content(), 3, 3, test_seed(2))});
  collection.add({"broken", "Subject: x\r\n\r\n-----BEGIN SECRET SHARE BLOCK Ver1.0-----\r\n"});
  ASSERT_EQ(collection.bad_mails().size(), 1u);
  EXPECT_EQ(collection.bad_mails()[0].reason, "a block has no END line: the mail is truncated");
  const GroupOutcome outcome = combine_privmail_group(collection.privmail_groups().begin()->second);
  EXPECT_FALSE(outcome.message);
  EXPECT_EQ(outcome.problems, std::vector<std::string>{
                                  "the combined body and its truncated copy disagree: a share is missing, damaged or "
                                  "from another message (2 share(s): mail-1, mail-3)"});
}

TEST(SharesCombinePrivmail, TheRestoredMessageKeepsTheTextsBytes) {
  PrivmailShare fields;
  fields.from = "a@example.com";
  const RestoredMessage lf = restored_privmail_message(fields, "s", "line\nlines\n");
  EXPECT_EQ(lf.message, "From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
                        "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                        "bGluZQpsaW5lcwo=\r\n");
  EXPECT_NE(restored_privmail_message(fields, "s", std::string(999, 'x')).message.find("base64"), std::string::npos);
  EXPECT_NE(restored_privmail_message(fields, "s", std::string(998, 'x')).message.find("7bit"), std::string::npos);
  EXPECT_EQ(restored_privmail_message(fields, "a\r\nBcc: x", "").problem,
            "the combined Subject holds a line break or NUL: a share is damaged");
  const std::string long_subject = std::string(600, 'a') + " " + std::string(600, 'b');
  const std::string folded = restored_privmail_message(fields, long_subject, "").message;
  EXPECT_NE(folded.find("Subject: " + std::string(600, 'a') + "\r\n " + std::string(600, 'b') + "\r\n"), std::string::npos);
}

}  // namespace
