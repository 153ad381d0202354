// Text from outside made safe to show: a client's user name or HELO in a log line, an upstream's
// reply or a queued message's header on an administrator's terminal. A hostile value must not
// move the cursor, start a terminal escape sequence (C0 ESC, or the C1 CSI U+009B), forge a new
// line, or reorder what is shown around it.
//
// Call escape_unprintable(text) for the text to print; a caller with its own quoting (the log)
// walks the text with printable_length() instead. Pure functions: no locale, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace postern::schema {

// How many bytes from text[i] on may be shown as they are: the length of the UTF-8 character
// that starts there (RFC 3629), or 0 when the byte at text[i] must be escaped instead. Escaped:
// C0 controls and DEL; C1 controls U+0080–U+009F (as UTF-8, C2 80–C2 9F); the line and
// paragraph separators U+2028, U+2029; the bidirectional embeddings, overrides and isolates
// U+202A–U+202E, U+2066–U+2069; and any byte that is not part of valid UTF-8 (raw 0x80–0xFF).
std::size_t printable_length(std::string_view text, std::size_t i);

// The text with every byte that printable_length() refuses written as \xNN (two lowercase hex
// digits), except the ASCII bytes listed in `keep` (mailadmin keeps "\t"). A C1 control in
// UTF-8 thus shows as "\xc2\x9b", a stray byte as "\x9b".
std::string escape_unprintable(std::string_view text, std::string_view keep = {});

// Appends "\xNN" for one byte.
void append_hex_escape(std::string& out, unsigned char byte);

}  // namespace postern::schema
