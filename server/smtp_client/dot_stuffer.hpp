// The message body as it goes out after DATA's 354 (RFC 5321 §4.5.2): a line that starts with
// "." gets another one, and the end is CRLF "." CRLF. Feed the raw message (CRLF lines, not
// dot-stuffed) in pieces of any size with stuff(piece, out) — a line may span pieces — then call
// finish(out) once. Pure: no I/O, state is just where the last piece ended.
//
//   DotStuffer stuffer;
//   std::string out;
//   stuffer.stuff(piece, out);   // as often as needed
//   stuffer.finish(out);         // CRLF when the body did not end with one, then ".\r\n"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace smtp_client {

class DotStuffer {
 public:
  // Appends piece to out, with a "." added before every "." that starts a line. Only CRLF ends
  // a line; a bare LF or CR does not.
  void stuff(std::string_view piece, std::string& out);

  // Appends the end of data: a CRLF when the body so far is not empty and does not end with
  // one, then ".\r\n".
  void finish(std::string& out);

  // What the body amounts to on the wire before dot-stuffing, as SIZE= counts it (RFC 1870 §3):
  // its bytes, plus the CRLF finish() adds when it does not end with one.
  static std::uint64_t size_as_sent(std::string_view body);

 private:
  bool at_line_start_ = true;  // nothing yet, or the last bytes were CRLF
  bool after_cr_ = false;      // the last byte was CR
};

}  // namespace smtp_client
