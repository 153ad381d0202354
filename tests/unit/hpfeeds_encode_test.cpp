// hpfeeds frames as written (server/hpfeeds/encode.hpp, auth_hash.hpp): the protocol document's
// INFO example byte for byte, every opcode's layout, the login hash, the PUBLISH size a
// publisher checks up front, and names too long for their fields.
#include "server/hpfeeds/auth_hash.hpp"
#include "server/hpfeeds/encode.hpp"
#include "server/hpfeeds/frame.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace {

using namespace std::string_literals;
using namespace hpfeeds;

std::string hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    out += kHex[static_cast<unsigned char>(c) >> 4];
    out += kHex[static_cast<unsigned char>(c) & 0x0F];
  }
  return out;
}

TEST(HpfeedsEncode, InfoIsTheProtocolDocumentsExample) {
  // docs/protocol.rst: 00 00 00 11 | 01 | 07 "hpfeeds" | 00 00 00 00
  const std::string expected = "\x00\x00\x00\x11\x01\x07hpfeeds\x00\x00\x00\x00"s;
  EXPECT_EQ(encode_info("hpfeeds", "\x00\x00\x00\x00"s), expected);
  EXPECT_EQ(expected.size(), 0x11u);
}

TEST(HpfeedsEncode, ErrorIsTheHeaderAndTheText) {
  EXPECT_EQ(encode_error("Authentication failed for collector"),
            "\x00\x00\x00\x28\x00"s "Authentication failed for collector");
  EXPECT_EQ(encode_error(""), "\x00\x00\x00\x05\x00"s);
}

TEST(HpfeedsEncode, AuthIsTheIdentAndTheHash) {
  const std::string hash(20, '\xAB');
  const std::string frame = encode_auth("collector", hash);
  EXPECT_EQ(frame, "\x00\x00\x00\x23\x02\x09"s "collector" + hash);
  EXPECT_EQ(frame.size(), 5u + 1 + 9 + 20);
}

TEST(HpfeedsEncode, PublishIsIdentChannelAndPayload) {
  const std::string frame = encode_publish("collector", "spam.mails", "{\"msg\":\"hi\"}");
  EXPECT_EQ(frame, "\x00\x00\x00\x26\x03\x09"s "collector" "\x0a" "spam.mails" "{\"msg\":\"hi\"}");
  EXPECT_EQ(frame.size(), publish_frame_size("collector", "spam.mails", 12));
}

TEST(HpfeedsEncode, PublishPayloadMayHoldAnyByte) {
  const std::string payload = "\x00\xff\r\n\x00\x00\x00\x05\x00"s;
  const std::string frame = encode_publish("i", "c", payload);
  EXPECT_EQ(frame.substr(5 + 2 + 2), payload);
}

TEST(HpfeedsEncode, EmptyPublish) {
  EXPECT_EQ(encode_publish("", "", ""), "\x00\x00\x00\x07\x03\x00\x00"s);
  EXPECT_EQ(publish_frame_size("", "", 0), 7u);
}

TEST(HpfeedsEncode, AppendPublishBatchesFrames) {
  std::string batch = "prefix";
  append_publish(batch, "a", "one", "1");
  append_publish(batch, "a", "two", "22");
  EXPECT_EQ(batch, "prefix" + encode_publish("a", "one", "1") + encode_publish("a", "two", "22"));
}

TEST(HpfeedsEncode, LargeLengthsAreBigEndian) {
  const std::string payload(0x010203, 'x');
  const std::string frame = encode_publish("id", "ch", payload);
  const std::size_t total = 5 + 3 + 3 + payload.size();
  EXPECT_EQ(frame.size(), total);
  EXPECT_EQ(frame.substr(0, 5), "\x00\x01\x02\x0e\x03"s);
  EXPECT_EQ(total, 0x01020eu);
}

TEST(HpfeedsEncode, PublishFrameSizeMatchesThePythonBrokersLimit) {
  // One byte of payload under the 5 + 1 MiB limit with a 9-byte ident and a 10-byte channel.
  const std::size_t payload = kDefaultMaxLargeFrame - 5 - 1 - 9 - 1 - 10;
  EXPECT_EQ(publish_frame_size("collector", "spam.mails", payload), kDefaultMaxLargeFrame);
  EXPECT_EQ(publish_frame_size("collector", "spam.mails", payload + 1), kDefaultMaxLargeFrame + 1);
}

TEST(HpfeedsEncode, SubscribeAndUnsubscribe) {
  EXPECT_EQ(encode_subscribe("reader", "spam.mails"), "\x00\x00\x00\x16\x04\x06"s "reader" "spam.mails");
  EXPECT_EQ(encode_unsubscribe("reader", "spam.mails"), "\x00\x00\x00\x16\x05\x06"s "reader" "spam.mails");
}

TEST(HpfeedsEncode, NamesOver255BytesAreRefused) {
  const std::string longest(255, 'n');
  const std::string too_long(256, 'n');
  EXPECT_NO_THROW(encode_publish(longest, longest, "x"));
  EXPECT_THROW(encode_publish(too_long, "c", "x"), std::length_error);
  EXPECT_THROW(encode_publish("i", too_long, "x"), std::length_error);
  EXPECT_THROW(encode_auth(too_long, std::string(20, 'h')), std::length_error);
  EXPECT_THROW(encode_subscribe(too_long, "c"), std::length_error);
  EXPECT_THROW(encode_info(too_long, "nonce"), std::length_error);
  try {
    encode_publish("i", too_long, "x");
  } catch (const std::length_error& e) {
    EXPECT_STREQ(e.what(), "hpfeeds channel of 256 bytes does not fit its 255-byte field");
  }
}

TEST(HpfeedsEncode, AppendPublishLeavesTheBatchAloneWhenItRefuses) {
  std::string batch = "kept";
  EXPECT_THROW(append_publish(batch, std::string(300, 'i'), "c", "x"), std::length_error);
  EXPECT_EQ(batch, "kept");
}

TEST(HpfeedsAuthHash, IsSha1OfNonceThenSecret) {
  // FIPS 180 "abc": the nonce and the secret are hashed as one string, nonce first.
  EXPECT_EQ(hex(auth_hash("ab", "c")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex(auth_hash("", "abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex(auth_hash("", "")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(HpfeedsAuthHash, FourByteNonceAsTheBrokerSendsIt) {
  // hashlib.sha1(bytes([0xde, 0xad, 0xbe, 0xef]) + b"collector-secret"), as protocol.py's msgauth.
  const std::string hash = auth_hash("\xde\xad\xbe\xef"s, "collector-secret");
  EXPECT_EQ(hash.size(), kAuthHashBytes);
  EXPECT_EQ(hex(hash), "bacd2c362eda79232e93a3d04c271e7a89c2fdb7");
  EXPECT_NE(auth_hash("\xde\xad\xbe\xee"s, "collector-secret"), hash);  // another connection, another proof
}

TEST(HpfeedsFrame, OpcodeNames) {
  EXPECT_EQ(opcode_name(Opcode::Error), "OP_ERROR");
  EXPECT_EQ(opcode_name(Opcode::Info), "OP_INFO");
  EXPECT_EQ(opcode_name(Opcode::Auth), "OP_AUTH");
  EXPECT_EQ(opcode_name(Opcode::Publish), "OP_PUBLISH");
  EXPECT_EQ(opcode_name(Opcode::Subscribe), "OP_SUBSCRIBE");
  EXPECT_EQ(opcode_name(Opcode::Unsubscribe), "OP_UNSUBSCRIBE");
  EXPECT_EQ(opcode_name(static_cast<Opcode>(9)), "opcode 9");
}

TEST(HpfeedsFrame, LimitsPerOpcode) {
  const FrameLimits limits;
  EXPECT_EQ(limits.limit_for(Opcode::Info), 5u + 256 + 20);
  EXPECT_EQ(limits.limit_for(Opcode::Auth), 5u + 256 + 20);
  EXPECT_EQ(limits.limit_for(Opcode::Subscribe), 5u + 256 + 20);
  EXPECT_EQ(limits.limit_for(Opcode::Unsubscribe), 5u + 256 + 20);
  EXPECT_EQ(limits.limit_for(Opcode::Publish), 5u + 1024 * 1024);
  EXPECT_EQ(limits.limit_for(Opcode::Error), 5u + 1024 * 1024);
  EXPECT_EQ(limits.limit_for(static_cast<Opcode>(200)), 5u + 1024 * 1024);
}

}  // namespace
