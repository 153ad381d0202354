// postern-combine --imap's pure parts: the mailbox URLs it accepts (imaps only, no password in
// them) and where the passwords come from (files or the environment, never the command line).
#include "combine/imap_password.hpp"
#include "combine/imap_url.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

using namespace postern::combine;

TEST(SharesCombineImapUrl, ReadsUserHostPortAndMailbox) {
  const ImapUrlParse plain = parse_imap_url("imaps://bob@imap.example");
  ASSERT_TRUE(plain.url) << plain.error;
  EXPECT_EQ(plain.url->user, "bob");
  EXPECT_EQ(plain.url->host, "imap.example");
  EXPECT_EQ(plain.url->port, 993u);
  EXPECT_EQ(plain.url->mailbox, "INBOX");
  EXPECT_EQ(plain.url->curl_url(), "imaps://imap.example:993/INBOX");

  const ImapUrlParse full = parse_imap_url("IMAPS://bob%40mail-a.example@127.0.0.1:10993/Shares/From%20Alice/");
  ASSERT_TRUE(full.url) << full.error;
  EXPECT_EQ(full.url->user, "bob@mail-a.example");
  EXPECT_EQ(full.url->port, 10993u);
  EXPECT_EQ(full.url->mailbox, "Shares/From Alice");
  EXPECT_EQ(full.url->curl_url(), "imaps://127.0.0.1:10993/Shares/From%20Alice");
  EXPECT_EQ(full.url->display(), "imaps://bob%40mail-a.example@127.0.0.1:10993/Shares/From%20Alice");

  const ImapUrlParse v6 = parse_imap_url("imaps://bob@[::1]:993/INBOX");
  ASSERT_TRUE(v6.url) << v6.error;
  EXPECT_EQ(v6.url->host, "[::1]");
}

TEST(SharesCombineImapUrl, RefusesWhatIsNoMailboxOrCarriesAPassword) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"imap://bob@host/INBOX", "\"imap://bob@host/INBOX\" is not an imaps:// URL (imaps://user@host[:port]/MAILBOX)"},
      {"imaps://bob:secret@host/INBOX",
       "\"imaps://bob:secret@host/INBOX\" holds a password: give it with --imap-password-file or POSTERN_IMAP_PASSWORD "
       "instead"},
      {"imaps://host/INBOX", "\"imaps://host/INBOX\" names no user (imaps://user@host/MAILBOX)"},
      {"imaps://bob@/INBOX", "\"imaps://bob@/INBOX\" names no host, or a malformed one"},
      {"imaps://bob@host:0/INBOX", "\"imaps://bob@host:0/INBOX\": port \"0\" is not a number from 1 to 65535"},
      {"imaps://bob@host:99999", "\"imaps://bob@host:99999\": port \"99999\" is not a number from 1 to 65535"},
      {"imaps://bob@host/INBOX/;UID=3",
       "\"imaps://bob@host/INBOX/;UID=3\" names more than a mailbox (\";\"): give just imaps://user@host/MAILBOX"},
      {"imaps://bob@host/INBOX?ALL", "\"imaps://bob@host/INBOX?ALL\": a URL has no white space, query or fragment"},
      {"imaps://bob@host/%zz", "\"imaps://bob@host/%zz\": the mailbox name is malformed"},
  };
  for (const auto& [url, error] : cases) {
    const ImapUrlParse parsed = parse_imap_url(url);
    EXPECT_FALSE(parsed.url) << url;
    EXPECT_EQ(parsed.error, error);
  }
}

class SharesCombineImapPasswords : public ::testing::Test {
 protected:
  std::filesystem::path dir_;

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("postern-imap-passwords-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string file(const std::string& name, const std::string& content) const {
    std::ofstream(dir_ / name, std::ios::binary) << content;
    return (dir_ / name).string();
  }
};

TEST_F(SharesCombineImapPasswords, ComeFromFilesOrTheEnvironment) {
  EXPECT_EQ(imap_passwords({}, "from-env", 2).for_mailbox(1), "from-env");
  const ImapPasswords one = imap_passwords({file("one", "s3cret\r\nignored\n")}, "from-env", 3);
  EXPECT_EQ(one.for_mailbox(0), "s3cret");
  EXPECT_EQ(one.for_mailbox(2), "s3cret");
  const ImapPasswords each = imap_passwords({file("a", "pw-a\n"), file("b", "pw-b")}, nullptr, 2);
  EXPECT_EQ(each.for_mailbox(0), "pw-a");
  EXPECT_EQ(each.for_mailbox(1), "pw-b");
}

TEST_F(SharesCombineImapPasswords, RefusesMissingOrMismatchedOnes) {
  EXPECT_THROW(imap_passwords({}, nullptr, 1), ImapPasswordError);
  EXPECT_THROW(imap_passwords({}, "", 1), ImapPasswordError);
  EXPECT_THROW(imap_passwords({file("empty", "\n")}, nullptr, 1), ImapPasswordError);
  EXPECT_THROW(imap_passwords({(dir_ / "missing").string()}, nullptr, 1), ImapPasswordError);
  try {
    imap_passwords({file("a", "x"), file("b", "y")}, nullptr, 3);
    FAIL() << "two files for three mailboxes";
  } catch (const ImapPasswordError& error) {
    EXPECT_STREQ(error.what(), "give one --imap-password-file for all --imap mailboxes or one for each (3), not 2");
  }
}

}  // namespace
