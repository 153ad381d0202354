// See canonical.hpp.
#include "dkim/canonical.hpp"

#include "dkim/crypto.hpp"

#include <cctype>

namespace postern::dkim {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

}  // namespace

std::string relaxed_header(std::string_view field) {
  const std::size_t colon = field.find(':');
  std::string name(field.substr(0, colon));
  while (!name.empty() && is_wsp(name.back())) name.pop_back();
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string value;
  bool space = false;
  for (char c : colon == std::string_view::npos ? std::string_view() : field.substr(colon + 1)) {
    if (c == '\r' || c == '\n') continue;  // unfolding
    if (is_wsp(c)) {
      space = true;
      continue;
    }
    if (space && !value.empty()) value.push_back(' ');
    space = false;
    value.push_back(c);
  }
  return name + ":" + value + "\r\n";
}

struct BodyHasher::Digest {
  Sha256 sha;
};

BodyHasher::BodyHasher() : digest_(std::make_unique<Digest>()) {}
BodyHasher::~BodyHasher() = default;

void BodyHasher::content(char c) {
  for (; empty_lines_ > 0; --empty_lines_) out_ += "\r\n";
  if (whitespace_) out_.push_back(' ');  // leading whitespace stays, as one SP
  whitespace_ = false;
  line_has_content_ = true;
  out_.push_back(c);
}

void BodyHasher::update(std::string_view piece) {
  for (char c : piece) {
    if (carriage_return_) {
      carriage_return_ = false;
      if (c == '\n') {
        // The line ends: its trailing whitespace is dropped, an empty one waits.
        whitespace_ = false;
        if (line_has_content_) {
          out_ += "\r\n";
        } else {
          ++empty_lines_;
        }
        line_has_content_ = false;
        continue;
      }
      content('\r');  // a lone CR is content
    }
    if (c == '\r') {
      carriage_return_ = true;
    } else if (is_wsp(c)) {
      whitespace_ = true;
    } else {
      content(c);
    }
  }
  if (out_.size() >= 64 * 1024) flush();
}

void BodyHasher::flush() {
  digest_->sha.update(out_);
  out_.clear();
}

std::string BodyHasher::finish() {
  if (carriage_return_) content('\r');
  carriage_return_ = false;
  if (line_has_content_) out_ += "\r\n";  // a last line without its CRLF gets one
  line_has_content_ = false;
  flush();
  return base64(digest_->sha.finish());
}

std::string relaxed_body(std::string_view body) {
  // The same rules as BodyHasher, written out: tests compare the two.
  std::string out;
  std::size_t start = 0;
  std::string pending;
  while (start < body.size()) {
    std::size_t end = body.find("\r\n", start);
    const bool complete = end != std::string_view::npos;
    if (!complete) end = body.size();
    std::string line;
    bool space = false;
    for (char c : body.substr(start, end - start)) {
      if (is_wsp(c)) {
        space = true;
        continue;
      }
      if (space) line.push_back(' ');
      space = false;
      line.push_back(c);
    }
    if (line.empty()) {
      pending += "\r\n";
    } else {
      out += pending + line + "\r\n";
      pending.clear();
    }
    start = complete ? end + 2 : end;
  }
  return out;
}

std::string message_body_hash(std::string_view message) {
  const std::size_t blank = message.starts_with("\r\n") ? 0 : message.find("\r\n\r\n");
  BodyHasher hasher;
  if (blank != std::string_view::npos) hasher.update(message.substr(blank == 0 ? 2 : blank + 4));
  return hasher.finish();
}

}  // namespace postern::dkim
