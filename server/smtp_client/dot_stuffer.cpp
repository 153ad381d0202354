// See dot_stuffer.hpp.
#include "server/smtp_client/dot_stuffer.hpp"

namespace smtp_client {

void DotStuffer::stuff(std::string_view piece, std::string& out) {
  out.reserve(out.size() + piece.size() + piece.size() / 64 + 1);
  std::size_t pos = 0;
  while (pos < piece.size()) {
    if (at_line_start_ && piece[pos] == '.') out += '.';
    const std::size_t lf = piece.find('\n', pos);
    if (lf == std::string_view::npos) {
      out.append(piece.substr(pos));
      at_line_start_ = false;
      after_cr_ = piece.back() == '\r';
      return;
    }
    out.append(piece.substr(pos, lf + 1 - pos));
    // The CR before this LF is either in this piece or was the last byte of the one before.
    at_line_start_ = lf > pos ? piece[lf - 1] == '\r' : after_cr_;
    after_cr_ = false;
    pos = lf + 1;
  }
}

void DotStuffer::finish(std::string& out) {
  if (!at_line_start_) out += "\r\n";
  out += ".\r\n";
  at_line_start_ = true;
  after_cr_ = false;
}

std::uint64_t DotStuffer::size_as_sent(std::string_view body) {
  const bool add_crlf = !body.empty() && !body.ends_with("\r\n");
  return body.size() + (add_crlf ? 2 : 0);
}

}  // namespace smtp_client
