// See response_reader.hpp.
#include "server/pop3_client/response_reader.hpp"

namespace pop3_client {
namespace {

constexpr std::size_t kShownBytes = 512;

bool ends_word(std::string_view line, std::size_t at) { return line.size() == at || line[at] == ' '; }

}  // namespace

std::optional<Status> status_of(std::string_view line) {
  if (line.starts_with("+OK") && ends_word(line, 3)) return Status::Ok;
  if (line.starts_with("-ERR") && ends_word(line, 4)) return Status::Err;
  if (line.starts_with("+") && ends_word(line, 1)) return Status::Continue;
  return std::nullopt;
}

std::string printable(std::string_view line) {
  std::string shown(line.substr(0, kShownBytes));
  for (char& c : shown) {
    if (c < 0x20 || c > 0x7e) c = '?';  // with a signed char, bytes over 0x7f are below 0x20
  }
  return shown;
}

void ResponseReader::feed(std::string_view bytes) {
  if (failed()) return;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

void ResponseReader::fail(std::string message) {
  error_ = std::move(message);
  buffer_.clear();
  consumed_ = 0;
}

std::optional<std::string> ResponseReader::next() {
  if (failed()) return std::nullopt;
  const smtp::LineRead read = lines_.read(std::string_view(buffer_).substr(consumed_), kMaxLine);
  switch (read.kind) {
    case smtp::LineRead::Kind::Line: {
      std::string line(read.text);
      consumed_ += read.consumed;
      return line;
    }
    case smtp::LineRead::Kind::NeedMore:
      return std::nullopt;
    case smtp::LineRead::Kind::TooLong:
      fail("response line longer than " + std::to_string(kMaxLine) + " bytes");
      return std::nullopt;
    case smtp::LineRead::Kind::BareCrOrLf:
      fail("bare CR or LF in a response line");
      return std::nullopt;
    case smtp::LineRead::Kind::Nul:
      fail("NUL byte in a response line");
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace pop3_client
