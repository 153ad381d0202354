// Reads the message content that follows DATA's 354 reply, up to the end-of-data line.
// Call consume(bytes) with whatever arrived: it takes bytes up to and including the final
// ".\r\n" and says how many it took, so the rest stays for the command reader. When finished(),
// verdict() says whether the message may be accepted and take_body() hands it over.
//
// The end is exactly CRLF "." CRLF, where the CRLF ending the DATA command line counts as the
// first one, so an empty message is ".\r\n" (RFC 5321 §4.1.1.4). A line starting with "." has
// that dot removed (dot-unstuffing, RFC 5321 §4.5.2). A bare CR, bare LF or NUL anywhere marks
// the message bad but is never an end of data: reading goes on to a real CRLF.CRLF, so no
// smuggled second message can follow from one DATA. Oversized lines and messages are likewise
// read to the end without being stored, keeping memory bounded by the size limit.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace smtp {

// Longest message line, CRLF included (RFC 5321 §4.5.3.1.6).
inline constexpr std::size_t kMaxDataLine = 1000;

class DataReader {
 public:
  // Why a finished message is refused; when several apply, the earliest listed here wins.
  enum class Verdict {
    Ok,
    BadLineEnding,  // bare CR, bare LF or NUL
    LineTooLong,    // a line over kMaxDataLine octets
    TooLarge,       // the unstuffed content exceeds max_message_size
  };

  explicit DataReader(std::size_t max_message_size) : max_message_size_(max_message_size) {}

  // Takes bytes up to and including the end-of-data line; returns how many it took.
  std::size_t consume(std::string_view input);

  bool finished() const { return state_ == State::Done; }

  // Only meaningful once finished().
  Verdict verdict() const;

  // The unstuffed content with CRLF line endings, without the final ".\r\n".
  // Complete only when verdict() is Ok.
  std::string take_body() { return std::move(body_); }

 private:
  enum class State {
    LineStart,  // after CRLF (or right after the 354)
    Dot,        // a "." at the start of a line
    DotCr,      // "." CR at the start of a line: LF ends the data
    Text,       // inside a line
    Cr,         // inside a line after CR: only LF may follow
    Done,
  };

  void step(char byte);
  void text_byte(char byte);
  void count_line_bytes(std::size_t count);
  void store(std::string_view bytes);

  std::size_t max_message_size_;
  State state_ = State::LineStart;
  std::size_t line_length_ = 0;
  bool bad_line_ending_ = false;
  bool line_too_long_ = false;
  bool too_large_ = false;
  std::string body_;
};

}  // namespace smtp
