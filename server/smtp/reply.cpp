#include "server/smtp/reply.hpp"

namespace smtp {
namespace {

constexpr std::size_t kMaxOneLine = 1000;

}  // namespace

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

std::string Reply::one_line() const {
  std::string out = std::to_string(code);
  for (std::size_t i = 0; i < lines.size() && out.size() < kMaxOneLine; ++i) {
    // The enhanced code is shown once, at the start.
    std::string text = i > 0 || enhanced.empty() ? lines[i]
                     : lines[i].empty()          ? enhanced
                                                 : enhanced + " " + lines[i];
    if (text.empty()) continue;
    out += i == 0 ? " " : "; ";
    out += text;
  }
  if (lines.empty() && !enhanced.empty()) out += " " + enhanced;
  if (out.size() > kMaxOneLine) out.resize(kMaxOneLine);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return out;
}

}  // namespace smtp
