// The client side of SMTP replies, pure (no I/O): SmtpReplyReader takes the bytes read from an
// upstream server in whatever pieces they arrive and hands back complete replies, multi-line ones
// (RFC 5321 §4.2.1: "250-first", "250 last") joined into one SmtpReply; parse_ehlo() turns an EHLO
// reply into the extensions the upstream client cares about.
//
//   SmtpReplyReader reader;
//   reader.feed(bytes);
//   while (auto reply = reader.next()) { ... }
//   if (reader.failed()) { /* reader.error(): the server speaks garbage, drop the connection */ }
//
// Bounded: a line longer than max_line bytes or a reply of more than max_lines lines is a
// protocol error, so a hostile server cannot make the client buffer without limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::delivery {

struct SmtpReply {
  int code = 0;              // 200..559
  std::string enhanced;      // RFC 3463 "5.1.1" when the first line starts with one, else empty
  std::vector<std::string> lines;  // the text of each line, after "250-" / "250 ", as sent

  bool positive() const { return code >= 200 && code < 400; }  // 2xx, and 3xx intermediates
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }

  // The whole reply on one line, for DSNs, `queue show` and logs: "550 5.1.1 no such user",
  // several lines joined with "; " (an enhanced code repeated at the start of later lines is
  // dropped), control characters replaced by '?', at most 1000 bytes.
  std::string one_line() const;
};

class SmtpReplyReader {
 public:
  static constexpr std::size_t kDefaultMaxLine = 4096;  // bytes, CRLF included
  static constexpr std::size_t kDefaultMaxLines = 256;   // lines in one reply

  explicit SmtpReplyReader(std::size_t max_line = kDefaultMaxLine, std::size_t max_lines = kDefaultMaxLines)
      : max_line_(max_line), max_lines_(max_lines) {}

  // Appends bytes read from the server. Ignored once failed().
  void feed(std::string_view bytes);

  // The next complete reply, or nothing: more bytes are needed, or the stream is malformed
  // (then failed() is true and stays true).
  std::optional<SmtpReply> next();

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  // Whether bytes were received that are not yet returned in a reply. Must be false right after
  // the reply to STARTTLS: anything more was sent in plaintext before the handshake and must not
  // be trusted (the STARTTLS command injection of CVE-2011-0411, seen from the client side).
  bool has_pending() const { return consumed_ < buffer_.size() || !pending_.lines.empty(); }

 private:
  void fail(std::string message);

  std::size_t max_line_;
  std::size_t max_lines_;
  std::string buffer_;
  std::size_t consumed_ = 0;  // bytes of buffer_ already parsed
  SmtpReply pending_;         // lines of a multi-line reply received so far
  std::string error_;
};

// Extensions from an EHLO reply (RFC 5321 §4.1.1.1: the first line is the server's name, each
// later line one keyword and its parameters). Keywords are case-insensitive.
struct SmtpCapabilities {
  bool pipelining = false;      // RFC 2920
  bool size = false;            // RFC 1870: SIZE offered
  std::uint64_t max_size = 0;   // its limit; 0 = offered without a (usable) limit
  bool eight_bit_mime = false;  // RFC 6152
  bool smtputf8 = false;        // RFC 6531
  bool starttls = false;        // RFC 3207
  bool enhanced_status_codes = false;  // RFC 2034
  std::vector<std::string> auth;  // SASL mechanisms, upper case, "AUTH x y" and old "AUTH=x y"

  bool offers_auth(std::string_view mechanism) const;
};

SmtpCapabilities parse_ehlo(const SmtpReply& reply);

}  // namespace postern::delivery
