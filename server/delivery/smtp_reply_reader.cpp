// See smtp_reply_reader.hpp.
#include "server/delivery/smtp_reply_reader.hpp"

#include <algorithm>
#include <charconv>

namespace postern::delivery {
namespace {

constexpr std::size_t kMaxOneLine = 1000;
constexpr std::size_t kCompactAbove = 64 * 1024;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = upper(c);
  return out;
}

// RFC 3463 status code at the start of text: class "." subject "." detail, class 2/4/5 and the
// same class as the reply code, subject and detail 1 to 3 digits, then a space or the end.
std::size_t enhanced_length(std::string_view text, int code) {
  if (text.size() < 5 || text[0] != static_cast<char>('0' + code / 100) || text[1] != '.') return 0;
  std::size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    std::size_t digits = 0;
    while (i < text.size() && is_digit(text[i]) && digits < 4) { ++i; ++digits; }
    if (digits == 0 || digits > 3) return 0;
    if (part == 0) {
      if (i >= text.size() || text[i] != '.') return 0;
      ++i;
    }
  }
  if (i < text.size() && text[i] != ' ') return 0;
  return i;
}

std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

}  // namespace

std::string SmtpReply::one_line() const {
  std::string out = std::to_string(code);
  bool first = true;
  for (std::string_view text : lines) {
    if (!first && !enhanced.empty() && text.substr(0, enhanced.size()) == enhanced &&
        (text.size() == enhanced.size() || text[enhanced.size()] == ' ')) {
      text.remove_prefix(std::min(text.size(), enhanced.size() + 1));
    }
    if (!text.empty()) {
      out += first ? " " : "; ";
      out += text;
    }
    first = false;
    if (out.size() >= kMaxOneLine) break;
  }
  if (out.size() > kMaxOneLine) out.resize(kMaxOneLine);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return out;
}

void SmtpReplyReader::feed(std::string_view bytes) {
  if (failed()) return;
  buffer_.append(bytes);
}

void SmtpReplyReader::fail(std::string message) {
  error_ = std::move(message);
  buffer_.clear();
  consumed_ = 0;
  pending_ = {};
}

std::optional<SmtpReply> SmtpReplyReader::next() {
  auto compact = [this] {
    if (consumed_ == buffer_.size()) {
      buffer_.clear();
      consumed_ = 0;
    } else if (consumed_ > kCompactAbove) {
      buffer_.erase(0, consumed_);
      consumed_ = 0;
    }
  };
  while (!failed()) {
    std::size_t end = buffer_.find('\n', consumed_);
    if (end == std::string::npos) {
      if (buffer_.size() - consumed_ >= max_line_) fail("reply line longer than " + std::to_string(max_line_) + " bytes");
      else compact();
      return std::nullopt;
    }
    if (end + 1 - consumed_ > max_line_) {
      fail("reply line longer than " + std::to_string(max_line_) + " bytes");
      return std::nullopt;
    }
    std::string_view line(buffer_.data() + consumed_, end - consumed_);
    consumed_ = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF, or a lenient bare LF

    if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) ||
        line[0] < '2' || line[0] > '5' || line[1] > '5' ||
        (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      std::string shown(line.substr(0, 40));
      for (char& c : shown) if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
      fail("malformed reply line \"" + shown + "\"");
      return std::nullopt;
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
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
    bool last = line.size() == 3 || line[3] == ' ';
    if (!last) continue;

    SmtpReply reply = std::move(pending_);
    pending_ = {};
    std::size_t n = enhanced_length(reply.lines.front(), reply.code);
    reply.enhanced = reply.lines.front().substr(0, n);
    compact();
    return reply;
  }
  return std::nullopt;
}

bool SmtpCapabilities::offers_auth(std::string_view mechanism) const {
  std::string wanted = upper(mechanism);
  return std::find(auth.begin(), auth.end(), wanted) != auth.end();
}

SmtpCapabilities parse_ehlo(const SmtpReply& reply) {
  SmtpCapabilities caps;
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    auto parts = words(reply.lines[i]);
    if (parts.empty()) continue;
    std::string keyword = upper(parts.front());
    std::vector<std::string_view> params(parts.begin() + 1, parts.end());
    // The pre-RFC 2554 form "AUTH=LOGIN PLAIN", still sent by some servers for old clients.
    if (keyword.rfind("AUTH=", 0) == 0) {
      std::string_view first = parts.front().substr(5);
      if (!first.empty()) params.insert(params.begin(), first);
      keyword = "AUTH";
    }
    if (keyword == "PIPELINING") caps.pipelining = true;
    else if (keyword == "8BITMIME") caps.eight_bit_mime = true;
    else if (keyword == "SMTPUTF8") caps.smtputf8 = true;
    else if (keyword == "STARTTLS") caps.starttls = true;
    else if (keyword == "ENHANCEDSTATUSCODES") caps.enhanced_status_codes = true;
    else if (keyword == "SIZE") {
      caps.size = true;
      caps.max_size = 0;
      if (!params.empty()) {
        std::uint64_t value = 0;
        auto text = params.front();
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec == std::errc{} && end == text.data() + text.size()) caps.max_size = value;
      }
    } else if (keyword == "AUTH") {
      for (auto mechanism : params) {
        std::string name = upper(mechanism);
        if (std::find(caps.auth.begin(), caps.auth.end(), name) == caps.auth.end()) caps.auth.push_back(name);
      }
    }
  }
  return caps;
}

}  // namespace postern::delivery
