// See rewrite.hpp.
#include "server/delivery/rewrite.hpp"

#include "server/filters/header_block.hpp"

namespace postern::delivery {

bool rewrites_headers(const Upstream& upstream) {
  return !upstream.rewrite_return_path.empty() || !upstream.rewrite_reply_to.empty();
}

std::string rewrite_header_section(std::string_view header_section, const Upstream& upstream) {
  const bool return_path = !upstream.rewrite_return_path.empty();
  const bool reply_to = !upstream.rewrite_reply_to.empty();
  if (!return_path && !reply_to) return std::string(header_section);

  const filters::HeaderBlock block = filters::parse_header_block(header_section);
  const std::string reply_to_field = "Reply-To: " + upstream.rewrite_reply_to + "\r\n";
  std::string out;
  out.reserve(header_section.size() + 128);
  if (return_path) out += "Return-Path: <" + upstream.rewrite_return_path + ">\r\n";
  bool reply_to_written = false;
  for (const filters::HeaderField& field : block.fields) {
    if (return_path && filters::is_field(field, "Return-Path")) continue;
    if (reply_to && filters::is_field(field, "Reply-To")) {
      if (!reply_to_written) out += reply_to_field;  // RFC 5322 §3.6: at most one Reply-To
      reply_to_written = true;
      continue;
    }
    out.append(header_section.substr(field.begin, field.end - field.begin));
  }
  if (reply_to && !reply_to_written) {
    // A header section whose last line has no CRLF (a message that is all header) gets one.
    if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
    out += reply_to_field;
  }
  // Anything after the fields (the empty line, were it passed in) stays.
  out.append(header_section.substr(block.header_end));
  return out;
}

std::string apply_rewrites(std::string_view message, const Upstream& upstream) {
  if (!rewrites_headers(upstream)) return std::string(message);
  const std::size_t header_end = filters::parse_header_block(message).header_end;
  std::string out = rewrite_header_section(message.substr(0, header_end), upstream);
  out.append(message.substr(header_end));
  return out;
}

}  // namespace postern::delivery
