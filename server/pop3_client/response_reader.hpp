// POP3 server responses, pure (no I/O): ResponseReader takes the bytes read from a POP3 server
// in whatever pieces they arrive and hands back complete lines; status_of() tells what a
// response's first line says (RFC 1939 §3: "+OK" or "-ERR"; RFC 5034 §4: "+ " asks for more
// SASL data). The lines of a multi-line response (CAPA) come one by one, still byte-stuffed:
// the protocol knows which responses have them.
//
//   ResponseReader reader;
//   reader.feed(bytes);
//   while (auto line = reader.next()) { ... }
//   if (reader.failed()) { /* reader.error(): the server speaks garbage, drop the connection */ }
//
// Lines end in CRLF and nothing else; a bare CR or LF or a NUL is a protocol error, as is a line
// longer than kMaxLine, so a hostile server cannot make the client buffer without limit.
#pragma once

#include "server/smtp/line_reader.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pop3_client {

enum class Status {
  Ok,        // "+OK"
  Err,       // "-ERR"
  Continue,  // "+" then a space or nothing: a SASL challenge (RFC 5034 §4)
};

// The status of a response line; nothing when the line starts with none of them.
std::optional<Status> status_of(std::string_view line);

// A server's line as texts show it: bytes outside printable ASCII as '?', at most 512 bytes
// (RFC 2449 §4: a response line is at most 512 octets).
std::string printable(std::string_view line);

class ResponseReader {
 public:
  // Octets of one line, CRLF included: RFC 2449 allows 512 for a response line and 255 for a
  // CAPA line; room for servers that exceed both without buffering much.
  static constexpr std::size_t kMaxLine = 4096;

  // Appends bytes read from the server. Ignored once failed().
  void feed(std::string_view bytes);

  // The next complete line without its CRLF, or nothing: more bytes are needed, or the stream
  // is malformed (then failed() is true and stays true).
  std::optional<std::string> next();

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  // Whether bytes were received that next() has not returned yet. Must be false right after
  // the +OK to STLS: anything more was sent in plaintext before the handshake and must not be
  // trusted (the command injection of CVE-2011-0411, from the client side).
  bool has_pending() const { return consumed_ < buffer_.size(); }

 private:
  void fail(std::string message);

  smtp::LineReader lines_;
  std::string buffer_;
  std::size_t consumed_ = 0;  // bytes of buffer_ already returned
  std::string error_;
};

}  // namespace pop3_client
