// The framed secret (message, zero padding, trailer with magic, length and SHA-256): sizes in
// 4 KiB buckets, a streaming round trip whatever the pieces, and every damage refused, including
// any flipped byte in any share once the shares are combined.
#include "shares/secret_framing.hpp"
#include "shares/share_combiner.hpp"
#include "shares/share_splitter.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace postern::shares;

std::string test_message(std::size_t size) {
  std::string message(size, '\0');
  for (std::size_t i = 0; i < size; ++i) message[i] = static_cast<char>((i * 89 + 7) & 0xFF);
  return message;
}

std::string frame(std::string_view message, std::size_t piece = 1000) {
  SecretFramer framer(message.size());
  std::string secret;
  for (std::size_t pos = 0; pos < message.size(); pos += piece) secret += framer.frame(message.substr(pos, piece));
  secret += framer.finish();
  return secret;
}

// The original, or the refusal's reason prefixed with "refused: ".
std::string unframe(std::string_view secret, std::size_t piece = 1000) {
  SecretUnframer unframer;
  std::string message;
  for (std::size_t pos = 0; pos < secret.size(); pos += piece) message += unframer.take(secret.substr(pos, piece));
  UnframeResult end = unframer.finish();
  if (!end.error.empty()) return "refused: " + end.error;
  return message + end.tail;
}

TEST(SharesFraming, SizesAreMultiplesOf4096WithRoomForTheTrailer) {
  EXPECT_EQ(framed_size(0), 4096u);
  EXPECT_EQ(framed_size(4048), 4096u);
  EXPECT_EQ(framed_size(4049), 8192u);
  EXPECT_EQ(framed_size(5 << 20), (5u << 20) + 4096u);
  EXPECT_THROW(framed_size(UINT64_MAX - 10), std::length_error);
}

TEST(SharesFraming, TheLayoutIsMessagePaddingAndTrailer) {
  const std::string message = "Subject: hi\r\n\r\nhello\r\n";
  const std::string secret = frame(message);
  ASSERT_EQ(secret.size(), 4096u);
  EXPECT_EQ(secret.substr(0, message.size()), message);
  EXPECT_EQ(secret.substr(message.size(), 4096 - 48 - message.size()), std::string(4096 - 48 - message.size(), '\0'));
  const std::string trailer = secret.substr(4096 - 48);
  EXPECT_EQ(trailer.substr(0, 8), std::string("POSTERN\x01"));
  EXPECT_EQ(trailer.substr(8, 8), std::string("\0\0\0\0\0\0\0\x16", 8));  // 22 bytes, big-endian
  std::array<unsigned char, crypto_hash_sha256_BYTES> hash{};
  crypto_hash_sha256(hash.data(), reinterpret_cast<const unsigned char*>(message.data()), message.size());
  EXPECT_EQ(trailer.substr(16), std::string(hash.begin(), hash.end()));
}

TEST(SharesFraming, RoundTripsWhateverTheSizeAndPieces) {
  for (const std::size_t size : {0u, 1u, 4047u, 4048u, 4049u, 4096u, 4143u, 4144u, 12345u, 70000u}) {
    const std::string message = test_message(size);
    for (const std::size_t piece : {1u, 7u, 4096u, 100000u}) {
      if (size > 20000 && piece == 1) continue;  // slow, and nothing new
      const std::string secret = frame(message, piece);
      EXPECT_EQ(secret.size(), framed_size(size));
      EXPECT_EQ(unframe(secret, piece), message) << size << " in pieces of " << piece;
    }
  }
}

TEST(SharesFraming, TheUnframerHandsOutOnlyCertainBytesBeforeTheEnd) {
  const std::string message = test_message(20000);
  const std::string secret = frame(message);
  SecretUnframer unframer;
  const std::string early = unframer.take(secret);
  EXPECT_EQ(early.size(), secret.size() - kUnframeHoldBack);
  EXPECT_EQ(early, message.substr(0, early.size()));
}

TEST(SharesFraming, TheFramerHoldsTheMessageToItsDeclaredSize) {
  SecretFramer longer(3);
  EXPECT_THROW(longer.frame("abcd"), std::length_error);
  SecretFramer shorter(3);
  shorter.frame("ab");
  EXPECT_THROW(shorter.finish(), std::length_error);
}

TEST(SharesFraming, EveryFlippedByteIsRefused) {
  const std::string message = test_message(5000);
  const std::string secret = frame(message);
  for (std::size_t pos = 0; pos < secret.size(); ++pos) {
    std::string damaged = secret;
    damaged[pos] ^= 0x01;
    ASSERT_TRUE(unframe(damaged).starts_with("refused: ")) << "flip at " << pos;
  }
}

TEST(SharesFraming, DamageIsRefusedWithAReason) {
  const std::string secret = frame("hello");
  EXPECT_EQ(unframe(""), "refused: the combined secret has 0 bytes, not a multiple of 4096: a share is truncated or not of this format");
  EXPECT_TRUE(unframe(secret.substr(0, 4095)).find("not a multiple of 4096") != std::string::npos);
  EXPECT_TRUE(unframe(std::string(4096, 'x')).find("has no Postern trailer") != std::string::npos);

  std::string other_version = secret;
  other_version[4096 - 48 + 7] = 2;
  EXPECT_TRUE(unframe(other_version).find("format version 2") != std::string::npos);

  std::string wrong_length = secret;
  wrong_length[4096 - 48 + 15] = 6;
  EXPECT_TRUE(unframe(wrong_length).find("does not match its SHA-256") != std::string::npos);
  wrong_length[4096 - 48 + 8] = 1;
  EXPECT_TRUE(unframe(wrong_length).find("recorded length") != std::string::npos);

  std::string padding = secret;
  padding[100] = 1;
  EXPECT_TRUE(unframe(padding).find("padding is not zero") != std::string::npos);

  std::string body = secret;
  body[0] ^= 0x20;
  EXPECT_TRUE(unframe(body).find("does not match its SHA-256") != std::string::npos);
}

TEST(SharesFraming, AFlippedByteInAnyShareIsCaughtAfterCombining) {
  Seed seed{};
  seed[0] = 42;
  const std::string secret = frame(test_message(3000));
  for (const SharingParams params : {SharingParams{Scheme::Xor, 2, 2}, SharingParams{Scheme::Shamir, 2, 3}}) {
    std::vector<std::string> shares;
    for (unsigned index = 1; index <= params.count; ++index) shares.push_back(ShareSplitter(params, index, seed).split(secret));
    const auto combine = [&](const std::vector<std::string>& which) {
      const std::vector<std::string_view> pieces = {which[0], which[1]};
      return params.scheme == Scheme::Xor ? xor_combine(pieces) : LagrangeInterpolator({1, 2}).interpolate(pieces);
    };
    ASSERT_EQ(unframe(combine(shares)), test_message(3000));
    for (std::size_t share = 0; share < 2; ++share) {
      for (std::size_t pos = 0; pos < secret.size(); pos += (share == 0 ? 1 : 13)) {
        std::vector<std::string> damaged = shares;
        damaged[share][pos] ^= static_cast<char>(1u << (pos % 8));
        ASSERT_TRUE(unframe(combine(damaged)).starts_with("refused: "))
            << scheme_name(params.scheme) << ": share " << share + 1 << " byte " << pos;
      }
    }
  }
}

}  // namespace
