#include "combine/privmail_restored_message.hpp"

#include "shares/base64_lines.hpp"

namespace postern::combine {
namespace {

constexpr std::size_t kMaxLineLength = 998;  // RFC 5322 §2.1.1, without the CRLF

// Whether `text` can be a 7bit body as it is: CRLF line ends only, no NUL, short lines.
bool is_7bit_clean(std::string_view text) {
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\0' || static_cast<unsigned char>(c) >= 0x80) return false;
    if (c == '\r') {
      if (i + 1 >= text.size() || text[i + 1] != '\n') return false;
      if (i - line_start > kMaxLineLength) return false;
      line_start = i + 2;
      ++i;
    } else if (c == '\n') {
      return false;
    }
  }
  return text.size() - line_start <= kMaxLineLength;
}

// "Name: value" folded before blanks so that no line exceeds 998 characters, where it can be.
std::string folded_field(std::string_view name, std::string_view value) {
  std::string line = std::string(name) + ": " + std::string(value);
  std::string out;
  while (line.size() > kMaxLineLength) {
    const std::size_t blank = line.find_last_of(" \t", kMaxLineLength);
    if (blank == std::string::npos || blank <= name.size() + 2) break;
    out += line.substr(0, blank) + "\r\n";
    line.erase(0, blank);
  }
  return out + line + "\r\n";
}

}  // namespace

RestoredMessage restored_privmail_message(const shares::PrivmailShare& fields, std::string_view subject,
                                          std::string_view text) {
  if (subject.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return RestoredMessage{{}, "the combined Subject holds a line break or NUL: a share is damaged"};
  }
  std::string message;
  if (fields.from) message += folded_field("From", *fields.from);
  if (fields.to) message += folded_field("To", *fields.to);
  if (fields.cc && !fields.cc->empty()) message += folded_field("Cc", *fields.cc);
  message += folded_field("Subject", subject);
  message += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n";
  if (is_7bit_clean(text)) {
    message += "Content-Transfer-Encoding: 7bit\r\n\r\n";
    message += text;
  } else {
    message += "Content-Transfer-Encoding: base64\r\n\r\n";
    shares::Base64LineEncoder encoder;
    message += encoder.encode(text);
    message += encoder.finish();
  }
  return RestoredMessage{std::move(message), {}};
}

}  // namespace postern::combine
