// Cutting an hpfeeds byte stream into frames (frame.hpp), pure: FrameReader takes the bytes read
// from a connection in whatever pieces they arrive and hands back complete frames.
//
//   FrameReader reader;               // or FrameReader{FrameLimits{...}}
//   reader.feed(bytes);
//   while (auto frame = reader.next()) { ... }
//   if (reader.failed()) { /* reader.error(): drop the connection */ }
//
// Bounded: a header announcing fewer than 5 bytes (a length that cannot even cover itself) or
// more than the opcode's limit (FrameLimits) is refused as soon as the 5 header bytes are in,
// before any of the body is buffered, so a hostile peer cannot make the reader hold more than
// one frame within the limit. After a failure the reader stays failed and takes nothing more.
#pragma once

#include "server/hpfeeds/frame.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hpfeeds {

class FrameReader {
 public:
  explicit FrameReader(FrameLimits limits = {}) : limits_(limits) {}

  // Appends bytes read from the peer. Ignored once failed().
  void feed(std::string_view bytes);

  // The next complete frame, or nothing: more bytes are needed, or the stream is malformed
  // (then failed() is true and stays true).
  std::optional<Frame> next();

  bool failed() const { return !error_.empty(); }
  // "OP_PUBLISH frame of 2000000 bytes exceeds the limit of 1048581 bytes",
  // "frame length 3 is shorter than the 5-byte header".
  const std::string& error() const { return error_; }

  // Bytes received that are not yet returned in a frame (a frame still arriving).
  bool has_pending() const { return consumed_ < buffer_.size(); }
  std::size_t pending_bytes() const { return buffer_.size() - consumed_; }

 private:
  FrameLimits limits_;
  std::string buffer_;
  std::size_t consumed_ = 0;  // bytes of buffer_ already returned as frames
  std::string error_;
};

}  // namespace hpfeeds
