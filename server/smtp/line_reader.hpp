// Splits the client's command stream into lines. SMTP lines end in CRLF and nothing else
// (RFC 5321 §2.3.8); a lone CR or LF, or a NUL, would let a client smuggle a line past a
// peer that splits lines differently, so such a line is refused whole. A line that grows past
// its limit is refused as soon as that is clear, and the rest of it is skipped up to its LF
// without being buffered.
// Call LineReader::read(buffer, max_length) and consume `consumed` bytes of the buffer.
#pragma once

#include <cstddef>
#include <string_view>

namespace smtp {

// Longest command line, CRLF included (RFC 5321 §4.5.3.1.4).
inline constexpr std::size_t kMaxCommandLine = 1000;
// Longest SASL response line, CRLF included (RFC 4954 §4).
inline constexpr std::size_t kMaxAuthResponseLine = 12288;

struct LineRead {
  enum class Kind {
    Line,        // `text` is a complete line without its CRLF
    NeedMore,    // no complete line in the buffer yet
    TooLong,     // longer than max_length; the rest of it will be skipped
    BareCrOrLf,  // a CR not followed by LF, or an LF not preceded by CR
    Nul,         // a NUL byte
  };
  Kind kind = Kind::NeedMore;
  std::string_view text;     // only for Kind::Line; points into the buffer
  std::size_t consumed = 0;  // bytes of the buffer this read used up
};

class LineReader {
 public:
  LineRead read(std::string_view buffer, std::size_t max_length);

  // Forget a partly skipped overlong line (the stream restarts after STARTTLS).
  void reset() { skipping_long_line_ = false; }

 private:
  bool skipping_long_line_ = false;
};

}  // namespace smtp
