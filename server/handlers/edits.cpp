// See edits.hpp.
#include "server/handlers/edits.hpp"

#include "server/filters/header_block.hpp"

namespace postern::handlers {
namespace {

std::string field_line(std::string_view name, std::string_view value) {
  std::string line;
  line.reserve(name.size() + value.size() + 4);
  line.append(name).append(": ").append(value).append("\r\n");
  return line;
}

// A display name as a quoted string (RFC 5322 §3.2.4) unless it is all atext and spaces.
std::string mailbox_text(const std::string& display_name, const std::string& address) {
  if (display_name.empty()) return address;
  const bool plain = display_name.find_first_not_of(
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~ ") ==
                     std::string::npos;
  std::string name;
  if (plain) {
    name = display_name;
  } else {
    name = "\"";
    for (char c : display_name) {
      if (c == '"' || c == '\\') name.push_back('\\');
      name.push_back(c);
    }
    name.push_back('"');
  }
  return name + " <" + address + ">";
}

}  // namespace

std::string remove_fields(std::string_view header_section, std::string_view name) {
  const filters::HeaderBlock block = filters::parse_header_block(header_section);
  std::string kept;
  kept.reserve(header_section.size());
  std::size_t copied = 0;
  for (const auto& field : block.fields) {
    if (!filters::is_field(field, name)) continue;
    kept.append(header_section.substr(copied, field.begin - copied));
    copied = field.end;
  }
  kept.append(header_section.substr(copied));
  return kept;
}

std::string add_field(std::string_view header_section, std::string_view name, std::string_view value) {
  const filters::HeaderBlock block = filters::parse_header_block(header_section);
  std::string result(header_section.substr(0, block.header_end));
  // Intake's header sections end with CRLF; anything else still gets the field on a line of its own.
  if (!result.empty() && !result.ends_with("\r\n")) result += "\r\n";
  result += field_line(name, value);
  result.append(header_section.substr(block.header_end));
  return result;
}

std::string replace_field(std::string_view header_section, std::string_view name, std::string_view value) {
  const filters::HeaderBlock block = filters::parse_header_block(header_section);
  for (const auto& field : block.fields) {
    if (!filters::is_field(field, name)) continue;
    std::string result(header_section.substr(0, field.begin));
    result += field_line(name, value);
    result += remove_fields(header_section.substr(field.begin), name);
    return result;
  }
  return add_field(header_section, name, value);
}

void apply(Draft& draft, const SetRecipient& action) {
  draft.recipients = {action.address};
  draft.header_section = replace_field(draft.header_section, "To", action.address);
}

void apply(Draft& draft, const SetSender& action) {
  draft.sender = action.address;
  draft.header_section = replace_field(draft.header_section, "From", mailbox_text(action.display_name, action.address));
}

void apply(Draft& draft, const AddHeader& action) {
  draft.header_section = add_field(draft.header_section, action.name, action.value);
}

void apply(Draft& draft, const RemoveHeader& action) {
  draft.header_section = remove_fields(draft.header_section, action.name);
}

}  // namespace postern::handlers
