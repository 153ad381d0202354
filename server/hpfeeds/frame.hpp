// hpfeeds frames, the vocabulary shared by the rest of server/hpfeeds (pure: no I/O). hpfeeds is
// the honeynet project's publish/subscribe protocol (hpfeeds docs/protocol.rst); the spamtrap
// collector's broker speaks it. Every frame is
//
//   uint32 total length (big-endian, the 5-byte header included) | uint8 opcode | body
//
// and inside a body a variable-length string is a uint8 length and its bytes, except the last
// field, which takes the rest of the frame. encode.hpp writes frames, frame_reader.hpp cuts a
// byte stream into them, decode.hpp reads their bodies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace hpfeeds {

enum class Opcode : std::uint8_t {
  Error = 0,        // S→C: UTF-8 text; the broker hangs up after it
  Info = 1,         // S→C, once on connect: len8 broker name, nonce (rest)
  Auth = 2,         // C→S: len8 ident, SHA-1(nonce ‖ secret) (rest, 20 bytes)
  Publish = 3,      // C→S and S→subscribers: len8 ident, len8 channel, payload (rest)
  Subscribe = 4,    // C→S: len8 ident, channel (rest)
  Unsubscribe = 5,  // C→S: len8 ident, channel (rest)
};

inline constexpr std::size_t kHeaderBytes = 5;
inline constexpr std::size_t kMaxShortString = 255;  // a len8 field
inline constexpr std::size_t kAuthHashBytes = 20;      // SHA-1

// The largest frames the Python broker accepts (protocol.py's SIZES): 5 + 256 + 20 for the
// login frames (INFO, AUTH, and here SUBSCRIBE and UNSUBSCRIBE too), 5 + 1 MiB for the rest.
inline constexpr std::size_t kDefaultMaxSmallFrame = kHeaderBytes + 256 + kAuthHashBytes;
inline constexpr std::size_t kDefaultMaxLargeFrame = kHeaderBytes + 1024 * 1024;

// How large a frame a reader accepts, its header included.
struct FrameLimits {
  std::size_t small_frame = kDefaultMaxSmallFrame;  // INFO, AUTH, SUBSCRIBE, UNSUBSCRIBE
  std::size_t large_frame = kDefaultMaxLargeFrame;  // ERROR, PUBLISH, and opcodes not listed above

  std::size_t limit_for(Opcode opcode) const;
};

// One frame as read: its opcode (possibly one not in the enum) and its body, header stripped.
struct Frame {
  Opcode opcode = Opcode::Error;
  std::string body;

  friend bool operator==(const Frame&, const Frame&) = default;
};

// "OP_PUBLISH", ..., or "opcode 9" for one the protocol does not define.
std::string opcode_name(Opcode opcode);

}  // namespace hpfeeds
