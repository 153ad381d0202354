#include "server/smtp/reply.hpp"

namespace smtp {

Reply Reply::line(int code, std::string_view enhanced, std::string_view text) {
  return Reply{code, std::string(enhanced), {std::string(text)}};
}

std::string Reply::wire() const {
  const std::string code_text = std::to_string(code);
  // A reply always has at least one line, even if its text is empty ("334 " for SASL).
  const std::size_t count = lines.empty() ? 1 : lines.size();
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    out += code_text;
    out += (i + 1 < count) ? '-' : ' ';
    if (!enhanced.empty()) {
      out += enhanced;
      out += ' ';
    }
    if (!lines.empty()) out += lines[i];
    out += "\r\n";
  }
  return out;
}

}  // namespace smtp
