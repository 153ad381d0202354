// Strict base64 for SASL: the RFC 4648 test vectors, and everything non-canonical refused.
#include "server/smtp/base64.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using smtp::base64_decode;
using namespace std::string_literals;

TEST(SmtpBase64, DecodesTheRfc4648TestVectors) {
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm9v"), "foo");
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64_decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
}

TEST(SmtpBase64, DecodesBinaryIncludingNul) {
  EXPECT_EQ(base64_decode("AGFsaWNlAHNlY3JldA=="), "\0alice\0secret"s);
  EXPECT_EQ(base64_decode("+/8="), "\xFB\xFF"s);
  EXPECT_EQ(base64_decode("AAAA"), "\0\0\0"s);
}

TEST(SmtpBase64, MissingPaddingIsRefused) {
  EXPECT_EQ(base64_decode("Zg"), std::nullopt);
  EXPECT_EQ(base64_decode("Zm8"), std::nullopt);
  EXPECT_EQ(base64_decode("Zg="), std::nullopt);
}

TEST(SmtpBase64, PaddingOutsideTheLastQuantumIsRefused) {
  EXPECT_EQ(base64_decode("Zg==Zm9v"), std::nullopt);
  EXPECT_EQ(base64_decode("Zm8=Zm9v"), std::nullopt);
  EXPECT_EQ(base64_decode("Z=g="), std::nullopt);
  EXPECT_EQ(base64_decode("Z==="), std::nullopt);
  EXPECT_EQ(base64_decode("===="), std::nullopt);
  EXPECT_EQ(base64_decode("="), std::nullopt);
}

TEST(SmtpBase64, CharactersOutsideTheAlphabetAreRefused) {
  EXPECT_EQ(base64_decode("Zm9v YmFy"), std::nullopt);
  EXPECT_EQ(base64_decode("Zm9v\r\n"), std::nullopt);
  EXPECT_EQ(base64_decode("Zm9-"), std::nullopt);  // base64url
  EXPECT_EQ(base64_decode("Zm9_"), std::nullopt);
  EXPECT_EQ(base64_decode("Zm9\x80"), std::nullopt);
  EXPECT_EQ(base64_decode("Zm9\0"s), std::nullopt);
  EXPECT_EQ(base64_decode("*"), std::nullopt);
}

TEST(SmtpBase64, NonZeroPaddingBitsAreRefused) {
  EXPECT_EQ(base64_decode("Zh=="), std::nullopt);
  EXPECT_EQ(base64_decode("Zm9="), std::nullopt);
}

TEST(SmtpBase64, EveryByteValueSurvives) {
  // The 256 bytes 0..255, encoded by Python's base64.b64encode.
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  const std::string encoded =
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9Q"
      "UVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6Ch"
      "oqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy"
      "8/T19vf4+fr7/P3+/w==";
  EXPECT_EQ(base64_decode(encoded), all);
}

}  // namespace
