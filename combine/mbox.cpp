#include "combine/mbox.hpp"

namespace postern::combine {
namespace {

bool is_from_line(std::string_view line) { return line.starts_with("From "); }

// ">From ", ">>From ", ...: a body line that was quoted so it could not start a message.
bool is_quoted_from_line(std::string_view line) {
  const std::size_t quotes = line.find_first_not_of('>');
  return quotes != 0 && quotes != std::string_view::npos && line.substr(quotes).starts_with("From ");
}

// The separator's preceding empty line belongs to the mbox, not to the message.
void drop_separator_line(std::string& message) {
  if (message.ends_with("\r\n")) {
    message.resize(message.size() - 2);
  } else if (message.ends_with("\n")) {
    message.pop_back();
  }
}

}  // namespace

bool looks_like_mbox(std::string_view text) { return text.starts_with("From "); }

std::vector<std::string> split_mbox(std::string_view text) {
  std::vector<std::string> messages;
  bool in_message = false;
  bool previous_empty = true;  // the start of the text counts as after an empty line
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t lf = text.find('\n', pos);
    const std::size_t next = lf == std::string_view::npos ? text.size() : lf + 1;
    const std::string_view line = text.substr(pos, next - pos);
    std::string_view content = line;
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.remove_suffix(1);

    if (previous_empty && is_from_line(content)) {
      if (in_message) drop_separator_line(messages.back());
      messages.emplace_back();
      in_message = true;
    } else if (in_message) {
      messages.back() += is_quoted_from_line(content) ? line.substr(1) : line;
    }
    previous_empty = content.empty();
    pos = next;
  }
  if (in_message && previous_empty && !messages.back().empty()) drop_separator_line(messages.back());
  return messages;
}

}  // namespace postern::combine
