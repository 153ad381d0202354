// See reply_reader.hpp.
#include "server/smtp_client/reply_reader.hpp"

#include <algorithm>

namespace smtp_client {
namespace {

constexpr std::size_t kCompactAbove = 64 * 1024;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 3463 status code at the start of text: class "." subject "." detail, class 2/4/5 and the
// same class as the reply code, subject and detail 1 to 3 digits, then a space or the end.
std::size_t enhanced_length(std::string_view text, int code) {
  if (text.size() < 5 || text[0] != static_cast<char>('0' + code / 100) || text[1] != '.') return 0;
  std::size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    std::size_t digits = 0;
    while (i < text.size() && is_digit(text[i]) && digits < 4) {
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 3) return 0;
    if (part == 0) {
      if (i >= text.size() || text[i] != '.') return 0;
      ++i;
    }
  }
  if (i < text.size() && text[i] != ' ') return 0;
  return i;
}

// RFC 5321 §4.2: three digits, the first 2 to 5 and the second 0 to 5, then the end, a space
// or a '-'. (1xx replies are not used by SMTP.)
bool well_formed(std::string_view line) {
  return line.size() >= 3 && is_digit(line[0]) && is_digit(line[1]) && is_digit(line[2]) && line[0] >= '2' &&
         line[0] <= '5' && line[1] <= '5' && (line.size() == 3 || line[3] == ' ' || line[3] == '-');
}

// Takes the enhanced code of the first line into reply.enhanced and off each line that repeats it.
void split_enhanced_code(smtp::Reply& reply) {
  const std::size_t length = enhanced_length(reply.lines.front(), reply.code);
  if (length == 0) return;
  reply.enhanced = reply.lines.front().substr(0, length);
  for (std::string& line : reply.lines) {
    if (line.compare(0, length, reply.enhanced) == 0 && (line.size() == length || line[length] == ' ')) {
      line.erase(0, std::min(line.size(), length + 1));
    }
  }
}

}  // namespace

void ReplyReader::feed(std::string_view bytes) {
  if (failed()) return;
  buffer_.append(bytes);
}

void ReplyReader::fail(std::string message) {
  error_ = std::move(message);
  buffer_.clear();
  consumed_ = 0;
  pending_ = {};
}

void ReplyReader::compact() {
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ > kCompactAbove) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
}

std::optional<smtp::Reply> ReplyReader::next() {
  while (!failed()) {
    const std::size_t end = buffer_.find('\n', consumed_);
    if (end == std::string::npos) {
      if (buffer_.size() - consumed_ < max_line_) compact();
      else fail("reply line longer than " + std::to_string(max_line_) + " bytes");
      return std::nullopt;
    }
    if (end + 1 - consumed_ > max_line_) {
      fail("reply line longer than " + std::to_string(max_line_) + " bytes");
      return std::nullopt;
    }
    std::string_view line(buffer_.data() + consumed_, end - consumed_);
    consumed_ = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF, or a lenient bare LF

    if (!well_formed(line)) {
      std::string shown(line.substr(0, 40));
      for (char& c : shown) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
      }
      fail("malformed reply line \"" + shown + "\"");
      return std::nullopt;
    }
    const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (!pending_.lines.empty() && code != pending_.code) {
      fail("reply code changed within a multi-line reply (" + std::to_string(pending_.code) + " then " +
           std::to_string(code) + ")");
      return std::nullopt;
    }
    pending_.code = code;
    pending_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view{});
    if (pending_.lines.size() > max_lines_) {
      fail("reply longer than " + std::to_string(max_lines_) + " lines");
      return std::nullopt;
    }
    const bool last = line.size() == 3 || line[3] == ' ';
    if (!last) continue;

    smtp::Reply reply = std::move(pending_);
    pending_ = {};
    split_enhanced_code(reply);
    compact();
    return reply;
  }
  return std::nullopt;
}

}  // namespace smtp_client
