// postern-combine's pure parts: splitting an mbox, and combining one share group, with every way
// a group can be incomplete or hold bad shares reported and no unverified message returned.
#include "combine/group_combination.hpp"
#include "combine/mbox.hpp"
#include "combine/share_collection.hpp"
#include "shares/secret_framing.hpp"
#include "shares/share_splitter.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace postern::combine;
using namespace postern::shares;

TEST(SharesCombineMbox, SplitsAtFromLinesAfterEmptyLines) {
  const std::string mbox =
      "From a@b Tue Jan  2 10:00:00 2024\n"
      "Subject: one\n\nbody\n>From the start\n>>From deeper\nFrom inside a paragraph\n\n"
      "From c@d Tue Jan  2 10:00:01 2024\n"
      "Subject: two\n\nlast\n\n";
  const std::vector<std::string> messages = split_mbox(mbox);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0], "Subject: one\n\nbody\nFrom the start\n>From deeper\nFrom inside a paragraph\n");
  EXPECT_EQ(messages[1], "Subject: two\n\nlast\n");
  EXPECT_TRUE(split_mbox("").empty());
  EXPECT_TRUE(split_mbox("Subject: not an mbox\n").empty());
  EXPECT_EQ(split_mbox("From x\r\nA: b\r\n\r\nc\r\n\r\nFrom y\r\nD: e\r\n").size(), 2u);
  EXPECT_EQ(split_mbox("From x\r\nA: b\r\n\r\nc\r\n\r\nFrom y\r\nD: e\r\n")[0], "A: b\r\n\r\nc\r\n");
  EXPECT_TRUE(looks_like_mbox("From x\n"));
  EXPECT_FALSE(looks_like_mbox("From: x\n"));
}

class SharesCombineGroup : public ::testing::Test {
 protected:
  const std::string message_ = "Subject: secret\r\n\r\nThe launch codes.\r\n";
  std::string secret_;

  void SetUp() override {
    SecretFramer framer(message_.size());
    secret_ = framer.frame(message_);
    secret_ += framer.finish();
  }

  CollectedShare share(const SharingParams& params, unsigned index, std::uint8_t seed_byte = 1) const {
    Seed seed{};
    seed.fill(seed_byte);
    ShareGroupId id{};
    return CollectedShare{ShareMetadata{id, index, params}, ShareSplitter(params, index, seed).split(secret_),
                          "mail-" + std::to_string(index)};
  }
};

TEST_F(SharesCombineGroup, CombinesAnyThresholdOfShares) {
  const SharingParams params{Scheme::Shamir, 2, 3};
  for (const std::vector<unsigned>& indexes : std::vector<std::vector<unsigned>>{{1, 2}, {3, 1}, {1, 2, 3}}) {
    std::vector<CollectedShare> group;
    for (const unsigned index : indexes) group.push_back(share(params, index));
    const GroupOutcome outcome = combine_group(group);
    EXPECT_EQ(outcome.message, message_);
    EXPECT_TRUE(outcome.problems.empty());
  }
  const SharingParams xor_params{Scheme::Xor, 2, 2};
  const GroupOutcome outcome = combine_group({share(xor_params, 2), share(xor_params, 1)});
  EXPECT_EQ(outcome.message, message_);
}

TEST_F(SharesCombineGroup, AnIncompleteGroupSaysWhatIsMissing) {
  const GroupOutcome shamir = combine_group({share({Scheme::Shamir, 3, 5}, 2), share({Scheme::Shamir, 3, 5}, 4)});
  EXPECT_FALSE(shamir.message);
  EXPECT_EQ(shamir.problems, std::vector<std::string>{"incomplete: 2 usable share(s) of 5 (2, 4), 3 needed (shamir k=3 n=5)"});
  const GroupOutcome xor_group = combine_group({share({Scheme::Xor, 3, 3}, 1), share({Scheme::Xor, 3, 3}, 3)});
  EXPECT_FALSE(xor_group.message);
  EXPECT_EQ(xor_group.problems, std::vector<std::string>{"incomplete: 2 usable share(s) of 3 (1, 3), all 3 needed (xor k=3 n=3)"});
}

TEST_F(SharesCombineGroup, ACorruptedShareIsRefusedAndNothingIsReturned) {
  const SharingParams params{Scheme::Xor, 2, 2};
  CollectedShare damaged = share(params, 2);
  damaged.bytes[5] ^= 1;
  const GroupOutcome outcome = combine_group({share(params, 1), damaged});
  EXPECT_FALSE(outcome.message);
  ASSERT_EQ(outcome.problems.size(), 1u);
  EXPECT_EQ(outcome.problems[0], "the shares do not combine: the combined message does not match its SHA-256: "
                                 "a share is corrupted or the shares do not belong together");
}

TEST_F(SharesCombineGroup, ASpareShamirShareStandsInForACorruptedOneWhichIsNamed) {
  const SharingParams params{Scheme::Shamir, 2, 3};
  CollectedShare damaged = share(params, 1);
  damaged.bytes[0] ^= 1;
  const GroupOutcome outcome = combine_group({damaged, share(params, 2), share(params, 3)});
  EXPECT_EQ(outcome.message, message_);
  EXPECT_EQ(outcome.problems, std::vector<std::string>{"share 1 (mail-1) does not fit the others: it is corrupted or from another draw"});
}

TEST_F(SharesCombineGroup, SharesThatDisagreeWithTheGroupAreLeftOut) {
  const SharingParams params{Scheme::Shamir, 2, 3};
  CollectedShare odd = share({Scheme::Shamir, 3, 3}, 3);
  const GroupOutcome mismatched = combine_group({share(params, 1), share(params, 2), odd});
  EXPECT_EQ(mismatched.message, message_);
  EXPECT_EQ(mismatched.problems, std::vector<std::string>{
                                     "share 3 (mail-3) says shamir k=3 n=3 but the group's other shares say shamir k=2 n=3: left out"});

  CollectedShare twin = share(params, 1, 9);  // share 1 again, from another draw
  twin.origin = "mail-1b";
  const GroupOutcome duplicated = combine_group({share(params, 1), twin, share(params, 2)});
  EXPECT_FALSE(duplicated.message);
  EXPECT_EQ(duplicated.problems,
            (std::vector<std::string>{"share 1 appears 2 times with different content (mail-1, mail-1b): left out",
                                      "incomplete: 1 usable share(s) of 3 (2), 2 needed (shamir k=2 n=3)"}));

  CollectedShare longer = share(params, 2);
  longer.bytes += std::string(4096, 'x');
  const GroupOutcome sized = combine_group({share(params, 1), longer, share(params, 3)});
  EXPECT_EQ(sized.message, message_);
  EXPECT_EQ(sized.problems, std::vector<std::string>{"share 2 (mail-2) has 8192 bytes, the group's other shares 4096: left out"});
}

TEST(SharesCombineCollection, GroupsSharesIgnoresOtherMailAndKeepsBadOnes) {
  ShareCollection collection;
  collection.add({"plain", "Subject: hi\r\n\r\nhello\r\n"});
  collection.add({"broken", "X-Postern-Share: v=9\r\n\r\n"});
  EXPECT_EQ(collection.other_mails(), 1u);
  ASSERT_EQ(collection.bad_mails().size(), 1u);
  EXPECT_EQ(collection.bad_mails()[0].origin, "broken");
  EXPECT_EQ(collection.bad_mails()[0].reason, "X-Postern-Share: share format version 9 is not supported (this reads 1)");
  EXPECT_TRUE(collection.groups().empty());
}

}  // namespace
