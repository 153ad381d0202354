// A message through the whole pipeline (framing, splitting, share mail) and back (parser,
// combiner, unframer): byte-exact, deterministic per seed, independent of piece boundaries and
// of which shares a pass makes, and with nothing of the original in any share mail.
#include "shares/secret_framing.hpp"
#include "shares/share_combiner.hpp"
#include "shares/share_mail_parser.hpp"
#include "shares/share_mail_writer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace postern::shares;

const std::string kSubjectLine = "Subject: Quarterly merger plans for ACME";
const std::string kBodyLine = "The board meets on Thursday to approve the takeover.";

// A message with a distinctive subject and body line, 8-bit text and binary bytes.
std::string test_message() {
  std::string message = "From: alice@example.com\r\nTo: bob@proxy.example\r\n" + kSubjectLine +
                        "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: 8bit\r\n\r\n" + kBodyLine + "\r\nGr\xC3\xBC\xC3\x9F" "e\r\n";
  for (int i = 0; i < 9000; ++i) message += static_cast<char>((i * 37) & 0xFF);
  return message;
}

Seed test_seed(std::uint8_t first) {
  Seed seed{};
  seed.fill(first);
  return seed;
}

ShareMailFields fields_for(unsigned index, const SharingParams& params, const Seed& seed) {
  return ShareMailFields{"alice@example.com", "bob@mail-" + std::to_string(index) + ".example",
                         "Tue, 02 Jan 2024 10:00:00 +0000", "<s" + std::to_string(index) + "@relay.example>",
                         ShareMetadata{derive_group_id(seed), index, params}};
}

std::string write_mail(const std::string& message, unsigned index, const SharingParams& params,
                       const Seed& seed, std::size_t piece = 1000) {
  ShareMailWriter writer(fields_for(index, params, seed), message.size(), seed);
  std::string mail;
  for (std::size_t pos = 0; pos < message.size(); pos += piece) mail += writer.write(std::string_view(message).substr(pos, piece));
  mail += writer.finish();
  EXPECT_EQ(mail.size(), writer.mail_size());
  return mail;
}

std::string restore(const std::vector<std::string>& mails, Scheme scheme) {
  std::vector<ParsedShareMail> parsed;
  std::vector<std::string_view> pieces;
  std::vector<std::uint8_t> xs;
  for (const std::string& mail : mails) parsed.push_back(parse_share_mail(mail));
  for (const ParsedShareMail& share : parsed) {
    EXPECT_EQ(share.status, ParsedShareMail::Status::Share) << share.error;
    pieces.emplace_back(share.bytes);
    xs.push_back(static_cast<std::uint8_t>(share.share.index));
  }
  const std::string secret = scheme == Scheme::Xor ? xor_combine(pieces) : LagrangeInterpolator(xs).interpolate(pieces);
  SecretUnframer unframer;
  std::string message = unframer.take(secret);
  UnframeResult end = unframer.finish();
  return end.error.empty() ? message + end.tail : "refused: " + end.error;
}

TEST(SharesMailWriter, SharesRestoreTheMessageByteExact) {
  const std::string message = test_message();
  const Seed seed = test_seed(1);
  const SharingParams shamir{Scheme::Shamir, 2, 3};
  const std::string m1 = write_mail(message, 1, shamir, seed), m2 = write_mail(message, 2, shamir, seed),
                    m3 = write_mail(message, 3, shamir, seed);
  EXPECT_EQ(restore({m1, m2}, Scheme::Shamir), message);
  EXPECT_EQ(restore({m3, m1}, Scheme::Shamir), message);
  EXPECT_EQ(restore({m2, m3}, Scheme::Shamir), message);

  const SharingParams xor3{Scheme::Xor, 3, 3};
  EXPECT_EQ(restore({write_mail(message, 1, xor3, seed), write_mail(message, 2, xor3, seed),
                     write_mail(message, 3, xor3, seed)}, Scheme::Xor),
            message);
}

TEST(SharesMailWriter, NoShareMailCarriesTheOriginalInClear) {
  const std::string message = test_message();
  for (const SharingParams params : {SharingParams{Scheme::Shamir, 2, 3}, SharingParams{Scheme::Xor, 3, 3}}) {
    for (unsigned index = 1; index <= 3; ++index) {
      const std::string mail = write_mail(message, index, params, test_seed(2));
      EXPECT_EQ(mail.find("Quarterly"), std::string::npos);
      EXPECT_EQ(mail.find("ACME"), std::string::npos);
      EXPECT_EQ(mail.find("takeover"), std::string::npos);
      EXPECT_EQ(mail.find("bob@proxy.example"), std::string::npos);
      EXPECT_EQ(mail.find("8bit"), std::string::npos);
      EXPECT_EQ(parse_share_mail(mail).bytes.find("Quarterly"), std::string::npos);
    }
  }
}

TEST(SharesMailWriter, TheSameSeedWritesTheSameMailWhateverThePieces) {
  const std::string message = test_message();
  const SharingParams params{Scheme::Shamir, 3, 4};
  const std::string whole = write_mail(message, 2, params, test_seed(3), message.size());
  EXPECT_EQ(write_mail(message, 2, params, test_seed(3), 1), whole);
  EXPECT_EQ(write_mail(message, 2, params, test_seed(3), 7), whole);
  EXPECT_NE(write_mail(message, 2, params, test_seed(4), 7), whole);
}

TEST(SharesMailWriter, ARetriedShareCombinesWithTheOthersOfTheFirstPass) {
  // Shares 1 and 3 went out; the relay restarted and makes share 2 alone.
  const std::string message = test_message();
  const SharingParams params{Scheme::Xor, 3, 3};
  const std::string first_1 = write_mail(message, 1, params, test_seed(5));
  const std::string first_3 = write_mail(message, 3, params, test_seed(5));
  const std::string retried_2 = write_mail(message, 2, params, test_seed(5), 4096);
  EXPECT_EQ(restore({first_1, retried_2, first_3}, Scheme::Xor), message);
  // A share from another draw does not combine; the trailer's hash catches it.
  const std::string other_draw_2 = write_mail(message, 2, params, test_seed(6));
  EXPECT_TRUE(restore({first_1, other_draw_2, first_3}, Scheme::Xor).starts_with("refused: "));
}

TEST(SharesMailWriter, TheMessageMustHaveItsDeclaredSize) {
  const Seed seed = test_seed(7);
  ShareMailWriter shorter(fields_for(1, {Scheme::Xor, 2, 2}, seed), 10, seed);
  shorter.write("12345");
  EXPECT_THROW(shorter.finish(), std::length_error);
  ShareMailWriter longer(fields_for(1, {Scheme::Xor, 2, 2}, seed), 3, seed);
  EXPECT_THROW(longer.write("12345"), std::length_error);
}

TEST(SharesMailWriter, SizesRevealOnlyThe4KiBBucket) {
  const SharingParams params{Scheme::Xor, 2, 2};
  const Seed seed = test_seed(8);
  const auto size_of = [&](std::uint64_t message_size) {
    return ShareMailWriter(fields_for(1, params, seed), message_size, seed).mail_size();
  };
  EXPECT_EQ(size_of(0), size_of(4048));
  EXPECT_LT(size_of(4048), size_of(4049));
  EXPECT_EQ(size_of(4049), size_of(8192 - 48));
}

}  // namespace
