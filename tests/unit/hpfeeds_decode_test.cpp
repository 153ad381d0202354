// hpfeeds frame bodies as decoded (server/hpfeeds/decode.hpp): INFO, PUBLISH and ERROR as the
// broker sends them, round trips through the encoders, and every truncation of a body, which
// must give an error and never a read past its end.
#include "server/hpfeeds/decode.hpp"
#include "server/hpfeeds/encode.hpp"
#include "server/hpfeeds/frame_reader.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace std::string_literals;
using namespace hpfeeds;

// The body of one encoded frame.
std::string body_of(const std::string& frame) {
  FrameReader reader;
  reader.feed(frame);
  auto got = reader.next();
  EXPECT_TRUE(got) << reader.error();
  return got ? got->body : std::string{};
}

TEST(HpfeedsDecode, InfoOfTheProtocolDocumentsExample) {
  const auto info = decode_info(body_of("\x00\x00\x00\x11\x01\x07hpfeeds\x00\x00\x00\x00"s));
  ASSERT_TRUE(info) << info.error;
  EXPECT_EQ(info.value->broker_name, "hpfeeds");
  EXPECT_EQ(info.value->nonce, "\x00\x00\x00\x00"s);
  EXPECT_EQ(info.error, "");
}

TEST(HpfeedsDecode, InfoNonceIsTheRestOfTheFrame) {
  const auto info = decode_info(body_of(encode_info("broker-1", "\xde\xad\xbe\xef\x01"s)));
  ASSERT_TRUE(info);
  EXPECT_EQ(info.value->broker_name, "broker-1");
  EXPECT_EQ(info.value->nonce, "\xde\xad\xbe\xef\x01"s);
  const auto bare = decode_info("\x00"s);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare.value->broker_name, "");
  EXPECT_EQ(bare.value->nonce, "");
}

TEST(HpfeedsDecode, InfoWhoseNameRunsPastTheEnd) {
  const auto info = decode_info("\x08hpfeeds"s);
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error, "malformed OP_INFO: broker name of 8 bytes runs past the end of the body (7 bytes left)");
  const auto empty = decode_info("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error, "malformed OP_INFO: broker name missing (the body ends before its length byte)");
}

TEST(HpfeedsDecode, PublishRoundTrip) {
  const std::string payload = "{\"msg\":\"Subject: hi\\r\\n\",\"sha256\":\"00\"}\x00\xff"s;
  const auto publish = decode_publish(body_of(encode_publish("collector", "spam.mails", payload)));
  ASSERT_TRUE(publish) << publish.error;
  EXPECT_EQ(publish.value->ident, "collector");
  EXPECT_EQ(publish.value->channel, "spam.mails");
  EXPECT_EQ(publish.value->payload, payload);
}

TEST(HpfeedsDecode, PublishRoundTripAtTheLimits) {
  const std::string ident(255, 'i');
  const std::string channel(255, 'c');
  const std::string payload(kDefaultMaxLargeFrame - publish_frame_size(ident, channel, 0), '\x00');
  const std::string frame = encode_publish(ident, channel, payload);
  ASSERT_EQ(frame.size(), kDefaultMaxLargeFrame);
  const auto publish = decode_publish(body_of(frame));
  ASSERT_TRUE(publish);
  EXPECT_EQ(publish.value->ident, ident);
  EXPECT_EQ(publish.value->channel, channel);
  EXPECT_EQ(publish.value->payload, payload);
  const auto empty = decode_publish(body_of(encode_publish("", "", "")));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty.value->payload, "");
}

TEST(HpfeedsDecode, EveryTruncatedPublishIsAnError) {
  const std::string body = body_of(encode_publish("ident", "chan", "payload"));
  const std::size_t names = 1 + 5 + 1 + 4;
  for (std::size_t cut = 0; cut < names; ++cut) {
    const auto publish = decode_publish(std::string_view(body).substr(0, cut));
    EXPECT_FALSE(publish) << "cut at " << cut;
    EXPECT_TRUE(publish.error.starts_with("malformed OP_PUBLISH: ")) << publish.error;
  }
  // Once both names are there, the payload is whatever is left, even nothing.
  for (std::size_t cut = names; cut <= body.size(); ++cut) {
    const auto publish = decode_publish(std::string_view(body).substr(0, cut));
    ASSERT_TRUE(publish) << "cut at " << cut;
    EXPECT_EQ(publish.value->payload, body.substr(names, cut - names));
  }
}

TEST(HpfeedsDecode, PublishErrorsSayWhichField) {
  EXPECT_EQ(decode_publish("\x05ide"s).error,
            "malformed OP_PUBLISH: ident of 5 bytes runs past the end of the body (3 bytes left)");
  EXPECT_EQ(decode_publish("\x02id"s).error,
            "malformed OP_PUBLISH: channel missing (the body ends before its length byte)");
  EXPECT_EQ(decode_publish("\x02id\xff"s "chan").error,
            "malformed OP_PUBLISH: channel of 255 bytes runs past the end of the body (4 bytes left)");
}

TEST(HpfeedsDecode, ErrorIsTheWholeBody) {
  EXPECT_EQ(decode_error(body_of(encode_error("Authentication failed for collector"))),
            "Authentication failed for collector");
  EXPECT_EQ(decode_error(body_of(encode_error("Authkey not allowed to pub here. ident=collector, chan=x"))),
            "Authkey not allowed to pub here. ident=collector, chan=x");
  EXPECT_EQ(decode_error(""), "");
  EXPECT_EQ(decode_error("caf\xc3\xa9 \x00\xff"s), "caf\xc3\xa9 \x00\xff"s);
}

TEST(HpfeedsDecode, GarbageBodiesNeverCrash) {
  // Every body of up to 3 bytes over a small alphabet: a value or an error, never both.
  const std::string alphabet = "\x00\x01\x02\x03\xff"s;
  std::vector<std::string> bodies{""};
  for (int length = 0; length < 3; ++length) {
    const std::size_t count = bodies.size();
    for (std::size_t i = 0; i < count; ++i) {
      for (const char c : alphabet) bodies.push_back(bodies[i] + c);
    }
  }
  for (const std::string& body : bodies) {
    const auto info = decode_info(body);
    EXPECT_NE(info.value.has_value(), !info.error.empty());
    const auto publish = decode_publish(body);
    EXPECT_NE(publish.value.has_value(), !publish.error.empty());
    if (publish) {
      EXPECT_EQ(2 + publish.value->ident.size() + publish.value->channel.size() + publish.value->payload.size(),
                body.size());
    }
  }
}

}  // namespace
