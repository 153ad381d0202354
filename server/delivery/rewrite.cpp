#include "server/delivery/rewrite.hpp"

#include "server/filters/header_block.hpp"

namespace postern::delivery {

std::string apply_rewrites(std::string_view message, const Upstream& upstream) {
  const bool return_path = !upstream.rewrite_return_path.empty();
  const bool reply_to = !upstream.rewrite_reply_to.empty();
  if (!return_path && !reply_to) return std::string(message);

  const filters::HeaderBlock block = filters::parse_header_block(message);
  const std::string reply_to_field = "Reply-To: " + upstream.rewrite_reply_to + "\r\n";
  std::string out;
  out.reserve(message.size() + 128);
  if (return_path) out += "Return-Path: <" + upstream.rewrite_return_path + ">\r\n";
  bool reply_to_written = false;
  for (const filters::HeaderField& field : block.fields) {
    if (return_path && filters::is_field(field, "Return-Path")) continue;
    if (reply_to && filters::is_field(field, "Reply-To")) {
      if (!reply_to_written) out += reply_to_field;  // RFC 5322 §3.6: at most one Reply-To
      reply_to_written = true;
      continue;
    }
    out.append(message.substr(field.begin, field.end - field.begin));
  }
  if (reply_to && !reply_to_written) {
    // A header section whose last line has no CRLF (a message that is all header) gets one.
    if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
    out += reply_to_field;
  }
  out.append(message.substr(block.header_end));
  return out;
}

}  // namespace postern::delivery
