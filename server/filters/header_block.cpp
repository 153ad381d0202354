#include "server/filters/header_block.hpp"

#include <algorithm>

namespace postern::filters {
namespace {

constexpr std::string_view kCrlf = "\r\n";

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// RFC 5322 §3.6.8: ftext is printable US-ASCII except the colon.
bool is_field_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b >= 33 && b <= 126 && c != ':';
  });
}

// A field's first line (without its CRLF) split into name and value, or an empty name.
HeaderField first_line(std::string_view line) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return {};
  auto name = line.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  if (!is_field_name(name)) return {};
  return {.name = name, .value = line.substr(colon + 1)};
}

}  // namespace

HeaderBlock parse_header_block(std::string_view message) {
  HeaderBlock block;
  std::size_t pos = 0;
  while (pos < message.size()) {
    if (message.substr(pos, kCrlf.size()) == kCrlf) {  // the empty line: the body follows
      block.header_end = pos;
      block.body_begin = pos + kCrlf.size();
      return block;
    }
    const auto crlf = message.find(kCrlf, pos);
    const auto line_end = crlf == std::string_view::npos ? message.size() : crlf;
    const auto next = crlf == std::string_view::npos ? message.size() : crlf + kCrlf.size();
    if (is_wsp(message[pos]) && !block.fields.empty()) {
      auto& field = block.fields.back();  // a continuation line (RFC 5322 §2.2.3)
      const auto value_begin = static_cast<std::size_t>(field.value.data() - message.data());
      field.value = message.substr(value_begin, line_end - value_begin);
      field.end = next;
    } else {
      auto field = first_line(message.substr(pos, line_end - pos));
      if (field.name.empty()) field.value = message.substr(pos, line_end - pos);
      field.begin = pos;
      field.end = next;
      block.fields.push_back(field);
    }
    pos = next;
  }
  block.header_end = block.body_begin = message.size();
  return block;
}

bool is_field(const HeaderField& field, std::string_view name) {
  return field.name.size() == name.size() &&
         std::equal(name.begin(), name.end(), field.name.begin(),
                    [](char a, char b) { return ascii_lower(a) == ascii_lower(b); });
}

std::size_t count_fields(const HeaderBlock& block, std::string_view name) {
  return static_cast<std::size_t>(
      std::count_if(block.fields.begin(), block.fields.end(),
                    [name](const HeaderField& field) { return is_field(field, name); }));
}

std::string unfold(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value.substr(i, kCrlf.size()) == kCrlf && i + 2 < value.size() && is_wsp(value[i + 2])) {
      ++i;  // drop the CR and the LF, keep the whitespace
      continue;
    }
    out += value[i];
  }
  return out;
}

}  // namespace postern::filters
