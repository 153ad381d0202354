// See frame_reader.hpp.
#include "server/hpfeeds/frame_reader.hpp"

#include <cstdint>

namespace hpfeeds {
namespace {

// Returned frames are dropped from the front of the buffer once they are this many bytes or
// more than half of it, so the buffer does not grow with the stream and is not moved per frame.
constexpr std::size_t kCompactAbove = 64 * 1024;

}  // namespace

void FrameReader::feed(std::string_view bytes) {
  if (failed()) return;
  if (consumed_ > 0 && (consumed_ >= kCompactAbove || consumed_ * 2 >= buffer_.size())) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

std::optional<Frame> FrameReader::next() {
  if (failed() || buffer_.size() - consumed_ < kHeaderBytes) return std::nullopt;
  const auto* header = reinterpret_cast<const unsigned char*>(buffer_.data() + consumed_);
  const std::uint32_t length = (std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16) |
                               (std::uint32_t{header[2]} << 8) | std::uint32_t{header[3]};
  const auto opcode = static_cast<Opcode>(header[4]);
  if (length < kHeaderBytes) {
    error_ = "frame length " + std::to_string(length) + " is shorter than the 5-byte header";
  } else if (length > limits_.limit_for(opcode)) {
    error_ = opcode_name(opcode) + " frame of " + std::to_string(length) + " bytes exceeds the limit of " +
             std::to_string(limits_.limit_for(opcode)) + " bytes";
  }
  if (failed()) {
    buffer_.clear();
    consumed_ = 0;
    return std::nullopt;
  }
  if (buffer_.size() - consumed_ < length) return std::nullopt;
  Frame frame{opcode, buffer_.substr(consumed_ + kHeaderBytes, length - kHeaderBytes)};
  consumed_ += length;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  }
  return frame;
}

}  // namespace hpfeeds
