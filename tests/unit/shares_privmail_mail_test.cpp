// The `privmail` share mail end to end in code: 7- and 6-bit XOR sharing, the writer's exact
// layout (PrivMail's Ver1.0 mail), determinism per seed, the parser (with the changes transport
// makes, and Python's encoded-word Subjects), and the combiner's block checks that tell a
// missing or damaged share.
#include "shares/privmail_blocks.hpp"
#include "shares/privmail_combiner.hpp"
#include "shares/privmail_message_shape.hpp"
#include "shares/privmail_share_mail.hpp"
#include "shares/privmail_share_mail_parser.hpp"
#include "shares/privmail_sixbit.hpp"
#include "shares/privmail_text.hpp"
#include "shares/privmail_xor_sharing.hpp"
#include "shares/share_mail_parser.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace postern::shares;
using Status = ParsedPrivmailShareMail::Status;

Seed test_seed(std::uint8_t first) {
  Seed seed{};
  seed.fill(first);
  return seed;
}

PrivmailContent test_content() {
  PrivmailContent content;
  content.from = "Alice <alice@example.com>";
  content.to = "bob@proxy.example";
  content.subject = "Quarterly merger plans for ACME";
  content.text = "The board meets on Thursday to approve the takeover.\r\nBring the numbers? Yes: all of them!\r\n"
                 "Regards, Alice\r\n";
  return content;
}

std::vector<std::string> write_all(const PrivmailContent& content, unsigned count, const Seed& seed) {
  std::vector<std::string> mails;
  for (unsigned index = 1; index <= count; ++index) mails.push_back(write_privmail_share_mail(content, index, count, seed));
  return mails;
}

PrivmailShare parsed_share(const std::string& mail) {
  const ParsedPrivmailShareMail parsed = parse_privmail_share_mail(mail);
  EXPECT_EQ(parsed.status, Status::Share) << parsed.error;
  return parsed.share;
}

std::vector<PrivmailShare> parse_all(const std::vector<std::string>& mails) {
  std::vector<PrivmailShare> shares;
  for (const std::string& mail : mails) shares.push_back(parsed_share(mail));
  return shares;
}

std::string xor_of(const std::vector<std::string>& pieces) {
  std::string out = pieces.front();
  for (std::size_t i = 1; i < pieces.size(); ++i) {
    for (std::size_t j = 0; j < out.size(); ++j) out[j] ^= pieces[i][j];
  }
  return out;
}

std::string sixbit_text(std::string_view values) {
  std::string out;
  for (const char v : values) out += sixbit_decode(static_cast<std::uint8_t>(v));
  return out;
}

TEST(PrivmailXorSharing, SharesOfNarrowValuesXorToTheSecretAndStayNarrow) {
  const Keystream stream(test_seed(1));
  std::string secret;
  for (int i = 0; i < 3000; ++i) secret += static_cast<char>((i * 31) % 64);
  for (const unsigned bits : {6u, 7u}) {
    std::vector<std::string> shares;
    for (unsigned index = 1; index <= 4; ++index) shares.push_back(privmail_xor_share(secret, bits, index, 4, stream));
    EXPECT_EQ(xor_of(shares), secret);
    for (const std::string& share : shares) {
      EXPECT_TRUE(std::all_of(share.begin(), share.end(), [&](char c) { return (static_cast<unsigned char>(c) >> bits) == 0; }));
    }
    // A random share uses every value of its width.
    std::set<char> seen(shares[0].begin(), shares[0].end());
    EXPECT_EQ(seen.size(), 1u << bits);
  }
  EXPECT_NE(privmail_xor_share(secret, 7, 1, 3, stream, 0), privmail_xor_share(secret, 7, 1, 3, stream, 1));
  EXPECT_THROW(privmail_xor_share(std::string(1, '\x40'), 6, 1, 2, stream), std::invalid_argument);
  EXPECT_THROW(privmail_xor_share("a", 7, 3, 2, stream), std::invalid_argument);
  EXPECT_THROW(privmail_xor_share("a", 7, 1, 1, stream), std::invalid_argument);
}

TEST(PrivmailShareMail, IsPrivMailsVer1MailByteForByte) {
  const PrivmailContent content = test_content();
  const Seed seed = test_seed(2);
  const std::string mail = write_privmail_share_mail(content, 1, 3, seed);
  const std::string uid = privmail_uid(seed);
  ASSERT_EQ(uid.size(), 8u);
  const PrivmailShare share = parsed_share(mail);

  const std::string head = "From: Alice <alice@example.com>\r\nTo: bob@proxy.example\r\nSubject: " + uid;
  ASSERT_TRUE(mail.starts_with(head)) << mail;
  const std::size_t body_start = mail.find("\r\n\r\n") + 4;
  EXPECT_EQ(mail.substr(mail.find("\r\nContent-Type:") + 2, body_start - mail.find("\r\nContent-Type:") - 2),
            "Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: 7bit\r\nMIME-Version: 1.0\r\n\r\n");
  // The body: blocks joined by one empty line, base64 lines of 60, the final line end that
  // Python's set_content adds.
  const std::string body = mail.substr(body_start);
  EXPECT_TRUE(body.starts_with(std::string(kPrivmailBodyBegin) + "\r\n")) << body;
  EXPECT_NE(body.find("\r\n" + std::string(kPrivmailBodyEnd) + "\r\n\r\n" + std::string(kPrivmailTruncatedBegin) + "\r\n"),
            std::string::npos);
  EXPECT_TRUE(body.ends_with(" BLOCK Ver1.0-----\r\n"));
  EXPECT_FALSE(body.ends_with("\r\n\r\n"));
  std::size_t lines_of_60 = 0;
  for (std::size_t pos = 0; pos < mail.size();) {
    const std::size_t end = mail.find("\r\n", pos);
    ASSERT_NE(end, std::string::npos) << "every line ends in CRLF";
    const std::string_view line = std::string_view(mail).substr(pos, end - pos);
    EXPECT_LE(line.size(), 78u) << line;
    EXPECT_EQ(line.find('\n'), std::string_view::npos);
    if (line.size() == 60) ++lines_of_60;
    pos = end + 2;
  }
  EXPECT_GE(lines_of_60, 2u);  // the body's share: 154 characters = 60 + 60 + 34... in base64
  EXPECT_TRUE(std::all_of(mail.begin(), mail.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }));

  EXPECT_EQ(share.uid, uid);
  EXPECT_EQ(share.subject.size(), content.subject.size());
  EXPECT_EQ(share.body.size(), content.text.size());
  EXPECT_EQ(share.truncated.size(), collapse_whitespace(content.text).size());
  EXPECT_EQ(share.from, "Alice <alice@example.com>");
  EXPECT_EQ(share.cc, std::nullopt);
}

TEST(PrivmailShareMail, NoShareMailCarriesTheSubjectOrTextInClear) {
  for (const std::string& mail : write_all(test_content(), 3, test_seed(3))) {
    for (const char* secret : {"Quarterly", "ACME", "board", "takeover", "Thursday", "QUARTERLY", "quarterly"}) {
      EXPECT_EQ(mail.find(secret), std::string::npos) << secret;
    }
  }
}

TEST(PrivmailShareMail, AllSharesCombineToTheSubjectTextAndSearchMaterial) {
  const PrivmailContent content = test_content();
  for (const unsigned count : {2u, 3u, 5u}) {
    const std::vector<PrivmailShare> shares = parse_all(write_all(content, count, test_seed(4)));
    const PrivmailCombination combined = combine_privmail_shares(shares);
    ASSERT_EQ(combined.error, "") << count;
    EXPECT_EQ(combined.subject, content.subject);
    EXPECT_EQ(combined.text, content.text);

    // The truncated block: the collapsed text in SixBit; the buckets: every distinct word,
    // padded, each in the block of its size.
    std::vector<std::string> truncated;
    for (const PrivmailShare& share : shares) truncated.push_back(share.truncated);
    std::string expected_truncated;
    for (const char c : collapse_whitespace(content.text)) expected_truncated += sixbit_decode(sixbit_encode(c));
    EXPECT_EQ(sixbit_text(xor_of(truncated)), expected_truncated);
    std::multiset<std::string> bucket_words;
    for (std::size_t b = 0; b < shares[0].buckets.size(); ++b) {
      for (std::size_t e = 0; e < shares[0].buckets[b].entries.size(); ++e) {
        std::vector<std::string> pieces;
        for (const PrivmailShare& share : shares) pieces.push_back(share.buckets[b].entries[e]);
        const std::string word = sixbit_text(xor_of(pieces));
        EXPECT_EQ(word.size(), shares[0].buckets[b].size);
        bucket_words.insert(word);
      }
    }
    std::multiset<std::string> expected_words;
    for (const std::string& word : privmail_search_words(content.text)) {
      if (const std::optional<std::string> padded = bucket_word(word)) expected_words.insert(sixbit_text([&] {
        std::string values;
        for (const char c : *padded) values += static_cast<char>(sixbit_encode(c));
        return values;
      }()));
    }
    EXPECT_EQ(bucket_words, expected_words);
  }
}

TEST(PrivmailShareMail, TheSameSeedWritesTheSameMailsAndARetriedShareFits) {
  const PrivmailContent content = test_content();
  const std::vector<std::string> first = write_all(content, 3, test_seed(5));
  EXPECT_EQ(write_all(content, 3, test_seed(5)), first);
  EXPECT_NE(write_all(content, 3, test_seed(6)), first);
  // Share 2 made again alone, as after a restart, combines with the first pass's 1 and 3.
  const std::string retried = write_privmail_share_mail(content, 2, 3, test_seed(5));
  EXPECT_EQ(combine_privmail_shares(parse_all({first[0], retried, first[2]})).text, content.text);
  // One of another draw does not, and the blocks tell.
  const std::string other_draw = write_privmail_share_mail(content, 2, 3, test_seed(6));
  EXPECT_EQ(combine_privmail_shares(parse_all({first[0], other_draw, first[2]})).error,
            "the combined body and its truncated copy disagree: a share is missing, damaged or from another message");
}

TEST(PrivmailShareMail, AMissingOrDamagedShareIsTold) {
  const PrivmailContent content = test_content();
  const std::vector<PrivmailShare> shares = parse_all(write_all(content, 4, test_seed(7)));
  for (std::size_t left_out = 0; left_out < shares.size(); ++left_out) {
    std::vector<PrivmailShare> fewer = shares;
    fewer.erase(fewer.begin() + static_cast<std::ptrdiff_t>(left_out));
    EXPECT_NE(combine_privmail_shares(fewer).error, "");
  }
  EXPECT_EQ(combine_privmail_shares(std::vector<PrivmailShare>{shares[0]}).error,
            "incomplete: 1 share(s); PrivMail's shares are n of n, n at least 2");
  std::vector<PrivmailShare> damaged = shares;
  damaged[1].body[3] ^= 0x21;
  EXPECT_NE(combine_privmail_shares(damaged).error, "");
  std::vector<PrivmailShare> shorter = shares;
  shorter[2].body.pop_back();
  const std::string n = std::to_string(content.text.size());
  EXPECT_EQ(combine_privmail_shares(shorter).error, "the shares' bodies differ in size (" + n + ", " + n + ", " +
                                                        std::to_string(content.text.size() - 1) + ", " + n +
                                                        "): a share is damaged or from another message");
}

TEST(PrivmailShareMail, EdgeContents) {
  PrivmailContent empty;
  const std::vector<std::string> empty_mails = write_all(empty, 2, test_seed(8));
  EXPECT_NE(empty_mails[0].find("\r\n\r\n" + std::string(kPrivmailBodyBegin) + "\r\n" + std::string(kPrivmailBodyEnd) +
                                "\r\n\r\n" + std::string(kPrivmailTruncatedBegin) + "\r\n" +
                                std::string(kPrivmailTruncatedEnd) + "\r\n"),
            std::string::npos);
  EXPECT_EQ(empty_mails[0].find("From:"), std::string::npos);  // none in the original: none copied
  const PrivmailCombination combined = combine_privmail_shares(parse_all(empty_mails));
  EXPECT_EQ(combined.error, "");
  EXPECT_EQ(combined.text, "");

  PrivmailContent long_subject = test_content();
  long_subject.subject = std::string(kPrivmailMaxSubjectLength, 'S');
  long_subject.cc = "";  // an empty Cc is not copied, as in PrivMail
  const std::string mail = write_privmail_share_mail(long_subject, 1, 2, test_seed(9));
  const std::size_t subject_line = mail.find("\r\nSubject: ") + 2;
  // One line within RFC 5322's 998: "Subject: ", the UID and 980 base64 characters.
  EXPECT_EQ(mail.find("\r\n", subject_line) - subject_line, 997u);
  EXPECT_EQ(mail.find("Cc:"), std::string::npos);
  EXPECT_EQ(combine_privmail_shares(parse_all({mail, write_privmail_share_mail(long_subject, 2, 2, test_seed(9))})).subject,
            long_subject.subject);

  PrivmailContent folded = test_content();
  folded.to = "a-rather-long-address@proxy.example,\r\n another-rather-long-address@proxy.example";
  EXPECT_NE(write_privmail_share_mail(folded, 1, 2, test_seed(9)).find("To: " + *folded.to + "\r\n"), std::string::npos);
  folded.to = "a@proxy.example,\r\n b@proxy.example";
  EXPECT_NE(write_privmail_share_mail(folded, 1, 2, test_seed(9)).find("To: a@proxy.example, b@proxy.example\r\n"),
            std::string::npos);

  PrivmailContent non_ascii = test_content();
  non_ascii.text = "K\xC3\xB6ln";
  EXPECT_THROW(write_privmail_share_mail(non_ascii, 1, 2, test_seed(9)), std::invalid_argument);
  EXPECT_THROW(write_privmail_share_mail(test_content(), 3, 2, test_seed(9)), std::invalid_argument);
}

TEST(PrivmailShareMail, StaysWithinSixTimesTheTextForTheLargestMessage) {
  // Distinct six-letter words: each costs a padded 10-value bucket share, the worst case.
  PrivmailContent content;
  std::string& text = content.text;
  for (std::uint32_t i = 0; text.size() < kPrivmailMaxMessageSize - 1000; ++i) {
    std::string word(6, 'a');
    for (std::uint32_t n = i, k = 0; k < 6; ++k, n /= 26) word[k] = static_cast<char>('a' + n % 26);
    text += word + (i % 12 == 11 ? "\r\n" : " ");
  }
  const std::string mail = write_privmail_share_mail(content, 3, 3, test_seed(10));
  EXPECT_LT(mail.size(), 6 * text.size());
  EXPECT_GT(mail.size(), 5 * text.size());
}

TEST(PrivmailShareMailParser, TellsShareMailsFromOtherMail) {
  EXPECT_EQ(parse_privmail_share_mail("Subject: hi\r\n\r\nhello\r\n").status, Status::NotAShare);
  EXPECT_EQ(parse_privmail_share_mail("Content-Type: text/html\r\n\r\n" + std::string(kPrivmailBodyBegin)).status,
            Status::NotAShare);
  EXPECT_EQ(parse_privmail_share_mail("").status, Status::NotAShare);
  // And the postern parser leaves privmail share mails alone.
  EXPECT_EQ(parse_share_mail(write_privmail_share_mail(test_content(), 1, 2, test_seed(11))).status,
            ParsedShareMail::Status::NotAShare);
}

TEST(PrivmailShareMailParser, ReadsMailChangedInTransport) {
  const PrivmailContent content = test_content();
  const std::vector<std::string> mails = write_all(content, 2, test_seed(12));
  const PrivmailShare original = parsed_share(mails[0]);

  // LF line ends, a trace field, trailing blanks and a provider's footer.
  std::string changed = "Received: from mx by mx; Tue, 2 Jan 2024\n";
  for (char c : mails[0]) {
    if (c != '\r') changed += c;
  }
  changed.insert(changed.find("\n", changed.find(std::string(kPrivmailBodyBegin))), "  ");
  changed += "\n-- \nSent with FreeMail\n";
  EXPECT_EQ(parsed_share(changed), original);

  // Re-encoded by a provider: quoted-printable (soft breaks) and base64.
  const std::size_t split = mails[0].find("\r\n\r\n") + 4;
  std::string head = mails[0].substr(0, split - 2);
  head.replace(head.find("Content-Transfer-Encoding: 7bit"), 31, "Content-Transfer-Encoding: quoted-printable");
  std::string qp;
  for (const char c : mails[0].substr(split)) {
    qp += c == '=' ? std::string("=3D") : std::string(1, c);
    if (c == 'A') qp += "=\r\n";
  }
  EXPECT_EQ(parsed_share(head + "\r\n" + qp), original);

  // The Subject as Python folds a long one: encoded-words over several lines.
  const std::size_t subject = mails[0].find("Subject: ") + 9;
  const std::size_t subject_end = mails[0].find("\r\n", subject);
  const std::string value = mails[0].substr(subject, subject_end - subject);
  std::string words;
  for (std::size_t pos = 0; pos < value.size(); pos += 20) {
    std::string chunk = value.substr(pos, 20);
    std::string q;
    for (const char c : chunk) q += c == '=' ? std::string("=3D") : std::string(1, c);
    words += (pos == 0 ? "" : "\r\n ") + std::string("=?utf-8?q?") + q + "?=";
  }
  EXPECT_EQ(parsed_share(mails[0].substr(0, subject) + words + mails[0].substr(subject_end)), original);
}

TEST(PrivmailShareMailParser, RefusesMalformedShareMailsWithAReason) {
  const std::string mail = write_privmail_share_mail(test_content(), 1, 2, test_seed(13));
  const auto error_of = [](const std::string& text) {
    const ParsedPrivmailShareMail parsed = parse_privmail_share_mail(text);
    EXPECT_EQ(parsed.status, Status::Bad) << text;
    return parsed.error;
  };
  const auto replaced = [&](std::string_view from, std::string_view to) {
    std::string out = mail;
    out.replace(out.find(from), from.size(), to);
    return out;
  };
  EXPECT_EQ(error_of(mail.substr(0, mail.find(std::string(kPrivmailBodyEnd)))), "a block has no END line: the mail is truncated");
  EXPECT_EQ(error_of(mail.substr(0, mail.find(std::string(kPrivmailTruncatedBegin)))),
            "the mail has no SECRET SHARE TRUNCATED BLOCK");
  EXPECT_EQ(error_of(replaced("Subject: ", "X-Subject: ")), "the mail has no Subject, whose UID links the shares");
  EXPECT_EQ(error_of(replaced("Subject: ", "Subject: ab\r\nX-Old: ")), "the Subject is shorter than a UID (8 characters)");
  EXPECT_EQ(error_of(replaced("Subject: ", "Subject: !!!!!!!!")), "the Subject does not start with a UID (8 base64 characters)");
  const std::size_t first_line = mail.find(std::string(kPrivmailBodyBegin)) + kPrivmailBodyBegin.size() + 2;
  std::string not_base64 = mail;
  not_base64[first_line] = '!';
  EXPECT_EQ(error_of(not_base64), "the SECRET SHARE BLOCK is not valid base64");
  std::string eight_bit = mail;
  eight_bit.replace(first_line, 4, "gAAA");  // 0x80 0x00 0x00
  EXPECT_EQ(error_of(eight_bit), "the SECRET SHARE BLOCK holds values over 7 bits: it is damaged");
  const std::size_t bucket = mail.find("-----BEGIN SECRET SHARE BUCKET SIZE ");
  ASSERT_NE(bucket, std::string::npos);
  const std::size_t entry = mail.find("\r\n", bucket) + 2;
  std::string short_entry = mail;
  short_entry.replace(entry, mail.find("\r\n", entry) - entry, "AAAA");
  EXPECT_TRUE(error_of(short_entry).ends_with("has an entry of 3 values: it is damaged"));
  std::string twice = mail;
  twice += std::string(kPrivmailTruncatedBegin) + "\r\n" + std::string(kPrivmailTruncatedEnd) + "\r\n";
  EXPECT_EQ(error_of(twice), "the mail has two SECRET SHARE TRUNCATED BLOCKs");
  EXPECT_EQ(error_of(replaced(std::string(kPrivmailBodyEnd), std::string(kPrivmailTruncatedBegin))),
            "a block is not closed before the next one starts");
}

TEST(PrivmailCombiner, ComparesTheTruncatedTextWordForWordWithQuestionMarksAsSpace) {
  const auto sixbit = [](std::string_view text) {
    std::string values;
    for (const char c : text) values += static_cast<char>(sixbit_encode(c));
    return values;
  };
  EXPECT_TRUE(truncated_text_matches("Hello\r\n  world!", sixbit("HELLO WORLD!")));
  EXPECT_TRUE(truncated_text_matches("", ""));
  // PrivMail turns a no-break space into '?' in the text, but Python split at it first.
  EXPECT_TRUE(truncated_text_matches("a?b caf?", sixbit("a b caf?")));
  EXPECT_FALSE(truncated_text_matches("Hello world", sixbit("HELLO WORLDS")));
  EXPECT_FALSE(truncated_text_matches("Hello world", sixbit("HELLO")));
}

}  // namespace
