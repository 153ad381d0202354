// Reads the message content that follows DATA's 354 reply, up to the end-of-data line, and
// hands it over in bounded pieces. Call consume(bytes) with whatever arrived: it takes bytes up
// to and including the final ".\r\n", or until a piece is full, and says how many it took, so
// the rest stays for later (the command reader, or the next consume). Whenever piece_ready(),
// take_piece(); once finished(), verdict() says whether the message may be accepted and
// take_piece() hands over the last piece. The reader itself never holds more than one piece.
//
// The end is exactly CRLF "." CRLF, where the CRLF ending the DATA command line counts as the
// first one, so an empty message is ".\r\n" (RFC 5321 §4.1.1.4). A line starting with "." has
// that dot removed (dot-unstuffing, RFC 5321 §4.5.2); the line length limit applies to the
// unstuffed line, so a 998-octet line starting with "." is 999 octets on the wire and still
// fits (RFC 5321 §4.5.3.1.6 counts text, not transparency). A bare CR, bare LF or NUL anywhere marks
// the message bad but is never an end of data: reading goes on to a real CRLF.CRLF, so no
// smuggled second message can follow from one DATA. Oversized lines and messages are likewise
// read to the end without being stored; once a message is refused, no more pieces come, and the
// driver drops the ones it already took.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace smtp {

// Longest message line, CRLF included (RFC 5321 §4.5.3.1.6).
inline constexpr std::size_t kMaxDataLine = 1000;

// The most content one piece holds: what the protocol keeps in memory of a message.
inline constexpr std::size_t kMessagePieceSize = 64 * 1024;

class DataReader {
 public:
  // Why a finished message is refused; when several apply, the earliest listed here wins.
  enum class Verdict {
    Ok,
    BadLineEnding,  // bare CR, bare LF or NUL
    LineTooLong,    // an unstuffed line over kMaxDataLine octets
    TooLarge,       // the unstuffed content exceeds max_message_size
  };

  // `piece_size` (at least 2) bounds each piece; tests make it small.
  explicit DataReader(std::size_t max_message_size, std::size_t piece_size = kMessagePieceSize);

  // Takes bytes up to and including the end-of-data line, stopping early when a piece is full
  // (piece_ready()); returns how many it took.
  std::size_t consume(std::string_view input);

  bool finished() const { return state_ == State::Done; }

  // A full piece waits for take_piece(); consume() takes nothing more until then.
  bool piece_ready() const { return piece_size_ - piece_.size() < 2; }

  // The unstuffed content since the last piece (CRLF line endings; the final ".\r\n" is never
  // part of it), at most piece_size octets. Empty once the message is refused.
  std::string take_piece();

  // Only meaningful once finished().
  Verdict verdict() const;

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
  bool refused() const { return bad_line_ending_ || line_too_long_ || too_large_; }

  std::size_t max_message_size_;
  std::size_t piece_size_;
  State state_ = State::LineStart;
  std::size_t line_length_ = 0;
  bool bad_line_ending_ = false;
  bool line_too_long_ = false;
  bool too_large_ = false;
  std::size_t stored_ = 0;  // content octets so far, taken pieces included
  std::string piece_;
};

}  // namespace smtp
