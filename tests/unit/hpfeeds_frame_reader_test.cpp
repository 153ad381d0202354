// hpfeeds frames as read (server/hpfeeds/frame_reader.hpp): frames in any pieces, several in one
// read, the per-opcode size limits checked from the header alone, and the truncated or garbage
// input after which the reader stays failed.
#include "server/hpfeeds/encode.hpp"
#include "server/hpfeeds/frame_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace std::string_literals;
using namespace hpfeeds;

std::vector<Frame> read_all(FrameReader& reader) {
  std::vector<Frame> frames;
  while (auto frame = reader.next()) frames.push_back(std::move(*frame));
  return frames;
}

std::vector<Frame> read_in_pieces(const std::string& stream, std::size_t piece, FrameReader& reader) {
  std::vector<Frame> frames;
  for (std::size_t at = 0; at < stream.size(); at += piece) {
    reader.feed(std::string_view(stream).substr(at, piece));
    for (Frame& frame : read_all(reader)) frames.push_back(std::move(frame));
  }
  return frames;
}

TEST(HpfeedsFrameReader, OneFrame) {
  FrameReader reader;
  reader.feed(encode_info("hpfeeds", "\x01\x02\x03\x04"s));
  const auto frames = read_all(reader);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, Opcode::Info);
  EXPECT_EQ(frames[0].body, "\x07hpfeeds\x01\x02\x03\x04"s);
  EXPECT_FALSE(reader.failed());
  EXPECT_FALSE(reader.has_pending());
}

TEST(HpfeedsFrameReader, SeveralFramesInOneRead) {
  FrameReader reader;
  reader.feed(encode_info("b", "n") + encode_publish("i", "c", "payload") + encode_error("bye"));
  const auto frames = read_all(reader);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].opcode, Opcode::Info);
  EXPECT_EQ(frames[1].opcode, Opcode::Publish);
  EXPECT_EQ(frames[1].body, "\x01i\x01" "cpayload"s);
  EXPECT_EQ(frames[2], (Frame{Opcode::Error, "bye"}));
}

TEST(HpfeedsFrameReader, SameFramesHoweverTheBytesAreCut) {
  std::string stream;
  for (int i = 0; i < 20; ++i) stream += encode_publish("ident", "chan" + std::to_string(i), std::string(i * 37, 'p'));
  stream += encode_error("");
  FrameReader whole;
  whole.feed(stream);
  const auto expected = read_all(whole);
  ASSERT_EQ(expected.size(), 21u);
  for (std::size_t piece : {1u, 2u, 4u, 5u, 6u, 7u, 100u, 4096u}) {
    FrameReader reader;
    EXPECT_EQ(read_in_pieces(stream, piece, reader), expected) << "pieces of " << piece;
    EXPECT_FALSE(reader.failed());
    EXPECT_FALSE(reader.has_pending());
  }
}

TEST(HpfeedsFrameReader, IncompleteFrameWaitsForMore) {
  const std::string frame = encode_publish("i", "c", "hello");
  FrameReader reader;
  reader.feed(frame.substr(0, 3));
  EXPECT_FALSE(reader.next());
  reader.feed(frame.substr(3, frame.size() - 4));
  EXPECT_FALSE(reader.next());
  EXPECT_TRUE(reader.has_pending());
  EXPECT_EQ(reader.pending_bytes(), frame.size() - 1);
  reader.feed(frame.substr(frame.size() - 1));
  auto got = reader.next();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body, "\x01i\x01" "chello"s);
  EXPECT_FALSE(reader.failed());
}

TEST(HpfeedsFrameReader, HeaderOnlyFrameHasAnEmptyBody) {
  FrameReader reader;
  reader.feed("\x00\x00\x00\x05\x00"s);
  auto got = reader.next();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (Frame{Opcode::Error, ""}));
}

TEST(HpfeedsFrameReader, LengthBelowTheHeaderIsRefused) {
  for (const char length : {'\x00', '\x01', '\x04'}) {
    FrameReader reader;
    reader.feed("\x00\x00\x00"s + length + "\x03more bytes");
    EXPECT_FALSE(reader.next());
    ASSERT_TRUE(reader.failed());
    EXPECT_EQ(reader.error(), "frame length " + std::to_string(length) + " is shorter than the 5-byte header");
  }
}

TEST(HpfeedsFrameReader, OversizeIsRefusedFromTheHeaderAlone) {
  FrameReader reader;
  // 5 + 1 MiB + 1, announced: refused before a byte of its body arrives.
  reader.feed("\x00\x10\x00\x06\x03"s);
  EXPECT_FALSE(reader.next());
  ASSERT_TRUE(reader.failed());
  EXPECT_EQ(reader.error(), "OP_PUBLISH frame of 1048582 bytes exceeds the limit of 1048581 bytes");
  EXPECT_FALSE(reader.has_pending());
}

TEST(HpfeedsFrameReader, LargestAllowedFramesPass) {
  FrameReader reader;
  const std::string publish = encode_publish("i", "c", std::string(kDefaultMaxLargeFrame - 9, 'x'));
  ASSERT_EQ(publish.size(), kDefaultMaxLargeFrame);
  const std::string info = encode_info(std::string(255, 'b'), std::string(20, 'n'));
  ASSERT_EQ(info.size(), kDefaultMaxSmallFrame);  // 5 + 1 + 255 + 20: exactly the limit
  reader.feed(publish + info);
  EXPECT_EQ(read_all(reader).size(), 2u);
  EXPECT_FALSE(reader.failed());
}

TEST(HpfeedsFrameReader, SmallOpcodesHaveTheSmallLimit) {
  const std::string info = encode_info("b", std::string(kDefaultMaxSmallFrame - 5 - 2 + 1, 'n'));
  ASSERT_EQ(info.size(), kDefaultMaxSmallFrame + 1);
  FrameReader reader;
  reader.feed(info);
  EXPECT_FALSE(reader.next());
  EXPECT_EQ(reader.error(), "OP_INFO frame of 282 bytes exceeds the limit of 281 bytes");
  for (const char opcode : {'\x02', '\x04', '\x05'}) {
    FrameReader small;
    small.feed("\x00\x00\x01\x1a"s + opcode);
    EXPECT_FALSE(small.next());
    EXPECT_TRUE(small.failed()) << int(opcode);
  }
}

TEST(HpfeedsFrameReader, ConfiguredLimits) {
  FrameReader reader{FrameLimits{.small_frame = 20, .large_frame = 64}};
  reader.feed(encode_publish("i", "c", std::string(55, 'x')));  // 64 bytes
  EXPECT_TRUE(reader.next());
  reader.feed(encode_publish("i", "c", std::string(56, 'x')));  // 65
  EXPECT_FALSE(reader.next());
  EXPECT_EQ(reader.error(), "OP_PUBLISH frame of 65 bytes exceeds the limit of 64 bytes");
}

TEST(HpfeedsFrameReader, UnknownOpcodesAreFramesWithTheLargeLimit) {
  FrameReader reader;
  reader.feed("\x00\x00\x00\x08\x63" "abc"s);
  auto got = reader.next();
  ASSERT_TRUE(got);
  EXPECT_EQ(static_cast<int>(got->opcode), 0x63);
  EXPECT_EQ(got->body, "abc");
  reader.feed("\xff\xff\xff\xff\x63"s);
  EXPECT_FALSE(reader.next());
  EXPECT_EQ(reader.error(), "opcode 99 frame of 4294967295 bytes exceeds the limit of 1048581 bytes");
}

TEST(HpfeedsFrameReader, FailureStaysAndTakesNothingMore) {
  FrameReader reader;
  reader.feed(encode_error("first") + "\x00\x00\x00\x02\x00"s + encode_error("never"));
  auto first = reader.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body, "first");
  EXPECT_FALSE(reader.next());
  EXPECT_TRUE(reader.failed());
  const std::string error = reader.error();
  reader.feed(encode_error("later"));
  EXPECT_FALSE(reader.next());
  EXPECT_EQ(reader.error(), error);
  EXPECT_FALSE(reader.has_pending());
}

TEST(HpfeedsFrameReader, GarbageIsRefusedNotBuffered) {
  // An HTTP request where a frame should be: "GET " reads as a length of 1195725856.
  FrameReader reader;
  reader.feed("GET / HTTP/1.1\r\nHost: broker\r\n\r\n");
  EXPECT_FALSE(reader.next());
  EXPECT_EQ(reader.error(), "opcode 47 frame of 1195725856 bytes exceeds the limit of 1048581 bytes");
}

TEST(HpfeedsFrameReader, LongStreamsDoNotAccumulate) {
  // Many frames fed one after the other: the consumed ones are dropped from the buffer.
  FrameReader reader;
  const std::string frame = encode_publish("ident", "channel", std::string(4096, 'm'));
  std::size_t frames = 0;
  for (int i = 0; i < 2000; ++i) {
    reader.feed(frame.substr(0, 1000));
    reader.feed(frame.substr(1000));
    while (reader.next()) ++frames;
    EXPECT_FALSE(reader.has_pending());
  }
  EXPECT_EQ(frames, 2000u);
}

}  // namespace
