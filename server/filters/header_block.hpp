// The header section of a submitted message, split into fields, for the message filters.
//
// Call parse_header_block() on the DATA content (CRLF line endings, dot-unstuffed, without the
// final ".\r\n"); it finds each header field's name, raw value and offsets, and where the header
// section ends, without copying. Use is_field()/count_fields() to look fields up by name
// (case-insensitive) and unfold() before parsing a value. Pure: no I/O, no allocation beyond
// the field list, and the views point into the message, so keep the message alive.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace postern::filters {

struct HeaderField {
  // The field name as written, without the colon or any whitespace before it (RFC 5322 §4.5:
  // the obsolete field syntax allows "From :"). Empty for a line that is not a header field:
  // no colon, a name with characters outside ftext (§3.6.8), or a continuation line with
  // nothing to continue.
  std::string_view name;
  // Everything after the colon up to the field's last CRLF, continuation lines included as
  // written (folded: inner CRLFs are kept, see unfold()).
  std::string_view value;
  std::size_t begin = 0;  // offset of the field's first octet
  std::size_t end = 0;    // offset just past its last CRLF (or the end of the message)
};

struct HeaderBlock {
  std::vector<HeaderField> fields;  // in message order
  // Where the header section ends: the start of the empty line that separates it from the
  // body, or the end of the message when there is none (the message is all header section).
  std::size_t header_end = 0;
  // Where the body starts: just past that empty line, or the end of the message.
  std::size_t body_begin = 0;
};

// RFC 5322 §2.1, §2.2: the header section runs to the first empty line (CRLF CRLF, or a
// message that starts with CRLF); a line starting with SP or HTAB continues the field above.
HeaderBlock parse_header_block(std::string_view message);

// Whether the field has this name, compared ASCII case-insensitively (RFC 5322 §1.2.2).
bool is_field(const HeaderField& field, std::string_view name);

// How many fields of the block have this name.
std::size_t count_fields(const HeaderBlock& block, std::string_view name);

// The value with each CRLF that precedes whitespace removed (RFC 5322 §2.2.3 unfolding).
std::string unfold(std::string_view value);

}  // namespace postern::filters
