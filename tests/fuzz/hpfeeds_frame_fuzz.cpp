// Feeds hpfeeds::FrameReader arbitrary broker bytes in pieces, as the publisher's background
// reader does, and decodes every frame it hands back, checking what must hold whatever a hostile
// or broken broker sends: frames within their limits, the same frames and the same verdict
// however the bytes were cut, decoders that answer a value or an error (never a read past the
// body), and bodies that encode back to the very bytes they came from.
//
// Input: the first byte is the piece size (0: the whole input at once); the second chooses the
// limits (bit 0: small ones, so the fuzzer reaches them); the rest is what the broker sends.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "server/hpfeeds/decode.hpp"
#include "server/hpfeeds/encode.hpp"
#include "server/hpfeeds/frame_reader.hpp"

namespace {

using namespace hpfeeds;

void check(bool invariant) {
  if (!invariant) std::abort();
}

struct Read {
  std::vector<Frame> frames;
  bool failed = false;
  std::string error;
  std::size_t pending = 0;
};

Read read(std::string_view stream, std::size_t piece, const FrameLimits& limits) {
  FrameReader reader{limits};
  Read out;
  for (std::size_t at = 0; at < stream.size(); at += piece) {
    reader.feed(stream.substr(at, piece));
    while (auto frame = reader.next()) out.frames.push_back(std::move(*frame));
    // Once failed, it stays failed and holds nothing.
    if (reader.failed()) check(!reader.has_pending() && !reader.next());
  }
  out.failed = reader.failed();
  out.error = reader.error();
  out.pending = reader.pending_bytes();
  // Never more than one frame within its limit is held.
  check(out.pending < kHeaderBytes || out.pending <= std::max(limits.small_frame, limits.large_frame));
  return out;
}

// The header of a frame of `opcode` with a body of `body_size` bytes.
std::string header(Opcode opcode, std::size_t body_size) {
  const auto total = static_cast<std::uint32_t>(kHeaderBytes + body_size);
  return {static_cast<char>(total >> 24), static_cast<char>((total >> 16) & 0xFF),
          static_cast<char>((total >> 8) & 0xFF), static_cast<char>(total & 0xFF), static_cast<char>(opcode)};
}

void check_frame(const Frame& frame, const FrameLimits& limits) {
  check(kHeaderBytes + frame.body.size() <= limits.limit_for(frame.opcode));
  const std::string wire = header(frame.opcode, frame.body.size()) + frame.body;

  const Decoded<Info> info = decode_info(frame.body);
  check(info.value.has_value() != !info.error.empty());
  if (info) {
    check(frame.body.size() == 1 + info.value->broker_name.size() + info.value->nonce.size());
    if (frame.opcode == Opcode::Info) check(encode_info(info.value->broker_name, info.value->nonce) == wire);
  }

  const Decoded<Publish> publish = decode_publish(frame.body);
  check(publish.value.has_value() != !publish.error.empty());
  if (publish) {
    const Publish& p = *publish.value;
    check(publish_frame_size(p.ident, p.channel, p.payload.size()) == wire.size());
    if (frame.opcode == Opcode::Publish) check(encode_publish(p.ident, p.channel, p.payload) == wire);
  }
  // A body too short for its names is malformed as an INFO or a PUBLISH, whatever the opcode.
  if (frame.body.empty()) check(!info && !publish);

  const std::string text = decode_error(frame.body);
  check(text == frame.body);
  if (frame.opcode == Opcode::Error) check(encode_error(text) == wire);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t piece = data[0] == 0 ? size : data[0];
  const FrameLimits limits = (data[1] & 1) ? FrameLimits{.small_frame = 32, .large_frame = 300} : FrameLimits{};
  const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);

  const Read whole = read(stream, stream.empty() ? 1 : stream.size(), limits);
  for (const Frame& frame : whole.frames) check_frame(frame, limits);

  // The same frames, the same verdict and the same leftover however the bytes arrive.
  for (const std::size_t cut : {piece, std::size_t{1}}) {
    const Read pieces = read(stream, cut, limits);
    check(pieces.frames == whole.frames);
    check(pieces.failed == whole.failed && pieces.error == whole.error);
    check(pieces.pending == whole.pending);
  }

  // What was read re-encodes to the input's prefix, frame by frame.
  std::size_t at = 0;
  for (const Frame& frame : whole.frames) {
    const std::string wire = header(frame.opcode, frame.body.size()) + frame.body;
    check(stream.substr(at, wire.size()) == wire);
    at += wire.size();
  }
  if (!whole.failed) check(at + whole.pending == stream.size());
  return 0;
}
