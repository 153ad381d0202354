#include "server/smtp/line_reader.hpp"

namespace smtp {

LineRead LineReader::read(std::string_view buffer, std::size_t max_length) {
  std::size_t skipped = 0;
  if (skipping_long_line_) {
    const std::size_t lf = buffer.find('\n');
    if (lf == std::string_view::npos) return {LineRead::Kind::NeedMore, {}, buffer.size()};
    skipping_long_line_ = false;
    skipped = lf + 1;
    buffer.remove_prefix(skipped);
  }

  const std::size_t lf = buffer.substr(0, max_length).find('\n');
  if (lf == std::string_view::npos) {
    if (buffer.size() < max_length) return {LineRead::Kind::NeedMore, {}, skipped};
    skipping_long_line_ = true;
    return {LineRead::Kind::TooLong, {}, skipped + max_length};
  }

  const std::size_t consumed = skipped + lf + 1;
  if (lf == 0 || buffer[lf - 1] != '\r') return {LineRead::Kind::BareCrOrLf, {}, consumed};
  const std::string_view text = buffer.substr(0, lf - 1);
  if (text.find('\r') != std::string_view::npos) return {LineRead::Kind::BareCrOrLf, {}, consumed};
  if (text.find('\0') != std::string_view::npos) return {LineRead::Kind::Nul, {}, consumed};
  return {LineRead::Kind::Line, text, consumed};
}

}  // namespace smtp
