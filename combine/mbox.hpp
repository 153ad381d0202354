// Splits an mbox (RFC 4155) into its messages. A message starts at a "From " line at the start
// of the text or after an empty line; that line is dropped, and the ">From " quoting of mboxrd
// and mboxo is undone on the body lines (one ">" removed from lines matching ">+From ").
// Line ends are kept as they are (mboxes usually have LF). Pure: no I/O.
//
//   for (std::string& message : split_mbox(text)) handle(message);
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace postern::combine {

// Text before the first "From " line is not a message and is dropped.
std::vector<std::string> split_mbox(std::string_view text);

// Whether `text` looks like an mbox: it starts with "From ".
bool looks_like_mbox(std::string_view text);

}  // namespace postern::combine
