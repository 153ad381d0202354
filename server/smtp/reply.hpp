// An SMTP reply as the server sends it: a three-digit code, an optional enhanced status code
// (RFC 3463, advertised with ENHANCEDSTATUSCODES, RFC 2034) and one or more text lines.
// Build one with Reply::line(250, "2.0.0", "Ok") or list the lines for a multi-line reply;
// reply.wire() is the exact text to write to the socket. The SMTP client reads upstream replies
// into the same type (server/smtp_client/reply_reader.hpp); reply.one_line() is their form for
// DSNs, the queue and logs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace smtp {

struct Reply {
  int code = 0;
  std::string enhanced;  // "2.1.0"; empty on the greeting and the EHLO/HELO replies
  std::vector<std::string> lines;  // the text of each line, without the code and enhanced code

  // A one-line reply.
  static Reply line(int code, std::string_view enhanced, std::string_view text);

  // "250-2.0.0 first\r\n250 2.0.0 last\r\n": every line carries the code and the enhanced code,
  // '-' after the code marks a line that is not the last (RFC 5321 §4.2.1).
  std::string wire() const;

  bool positive() const { return code >= 200 && code < 400; }  // 2xx, and 3xx intermediates
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }

  // The whole reply on one line, for DSNs, `queue show` and logs: "550 5.1.1 no such user",
  // several lines joined with "; ", control characters replaced by '?', at most 1000 bytes.
  std::string one_line() const;

  friend bool operator==(const Reply&, const Reply&) = default;
};

}  // namespace smtp
