// Reads the header section of a mail as it comes back from providers and mailboxes: LF as well
// as CRLF line ends, folded fields, lines that are no field at all (an mbox "From " line) skipped.
// Pure: no I/O. Both share mail parsers and the privmail shape check read headers with it.
//
//   HeaderSection head = read_header_section(mail);
//   std::string type = media_type(first_field_value(head.fields, "content-type"));
//   std::optional<std::string> boundary = content_type_parameter(type_value, "boundary");
//   std::string_view body = std::string_view(mail).substr(head.body_start);
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::shares {

struct HeaderField {
  std::string name;   // lower case
  std::string value;  // unfolded (line breaks removed, the folding white space kept), trimmed
  std::string raw;    // as written after the colon, line breaks (CRLF or LF) included
};

struct HeaderSection {
  std::vector<HeaderField> fields;
  std::size_t body_start = 0;     // past the empty line, or the mail's end when there is none
  std::size_t skipped_lines = 0;  // lines that were no field nor a field's continuation
};

// One line of a mail, without its LF or CRLF, and where the next begins.
struct MailLine {
  std::string_view text;
  std::size_t next = 0;
};

MailLine line_at(std::string_view mail, std::size_t pos);

// The header section that starts at `start` and ends at the first empty line.
HeaderSection read_header_section(std::string_view mail, std::size_t start = 0);

// The fields named `lower_name` (lower case), in order.
std::vector<const HeaderField*> find_fields(const std::vector<HeaderField>& fields, std::string_view lower_name);

// The first such field's trimmed value, or empty.
std::string first_field_value(const std::vector<HeaderField>& fields, std::string_view lower_name);

// "type/subtype" of a Content-Type value, lower case.
std::string media_type(std::string_view content_type);

// A Content-Type (or Content-Disposition) parameter, token or quoted string, or nullopt; the
// name is compared case-insensitively and given in lower case.
std::optional<std::string> content_type_parameter(std::string_view content_type, std::string_view lower_name);

std::string ascii_lower(std::string_view text);

// Without leading and trailing spaces and tabs.
std::string_view trim_blanks(std::string_view text);

}  // namespace postern::shares
