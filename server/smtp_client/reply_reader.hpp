// Upstream replies, pure (no I/O): ReplyReader takes the bytes read from an SMTP server in
// whatever pieces they arrive and hands back complete replies, multi-line ones (RFC 5321
// §4.2.1: "250-first", "250 last") joined into one smtp::Reply.
//
//   ReplyReader reader;
//   reader.feed(bytes);
//   while (auto reply = reader.next()) { ... }
//   if (reader.failed()) { /* reader.error(): the server speaks garbage, drop the connection */ }
//
// The enhanced status code (RFC 3463) of the first line goes to Reply::enhanced and is taken off
// every line that starts with it, so lines hold only the text, as in the replies the server side
// builds. Bounded: a line longer than max_line bytes or a reply of more than max_lines lines is a
// protocol error, so a hostile server cannot make the client buffer without limit.
#pragma once

#include "server/smtp/reply.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace smtp_client {

class ReplyReader {
 public:
  static constexpr std::size_t kDefaultMaxLine = 4096;  // bytes, CRLF included
  static constexpr std::size_t kDefaultMaxLines = 256;   // lines in one reply

  explicit ReplyReader(std::size_t max_line = kDefaultMaxLine, std::size_t max_lines = kDefaultMaxLines)
      : max_line_(max_line), max_lines_(max_lines) {}

  // Appends bytes read from the server. Ignored once failed().
  void feed(std::string_view bytes);

  // The next complete reply, or nothing: more bytes are needed, or the stream is malformed
  // (then failed() is true and stays true).
  std::optional<smtp::Reply> next();

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  // Whether bytes were received that are not yet returned in a reply. Must be false right after
  // the reply to STARTTLS: anything more was sent in plaintext before the handshake and must not
  // be trusted (the STARTTLS command injection of CVE-2011-0411, seen from the client side).
  bool has_pending() const { return consumed_ < buffer_.size() || !pending_.lines.empty(); }

 private:
  void fail(std::string message);
  void compact();

  std::size_t max_line_;
  std::size_t max_lines_;
  std::string buffer_;
  std::size_t consumed_ = 0;  // bytes of buffer_ already parsed
  smtp::Reply pending_;       // lines of a multi-line reply received so far
  std::string error_;
};

}  // namespace smtp_client
