// RFC 2047 encoded-words ("=?UTF-8?B?QWxpY2U=?=", "=?ISO-8859-1?Q?J=F6rg?=") decoded to UTF-8,
// as a mail reader would show them, for the filters that judge what a reader sees (display
// names, see display_name.hpp).
//
// Call decode_encoded_words(text) on a display name or comment whose quoting is already undone.
// Decoding is as lenient as the readers': an encoded-word counts wherever it appears (inside a
// quoted string too, which RFC 2047 §5 forbids but readers decode anyway), and text that is not a
// well-formed encoded-word stays as it is. UTF-8, US-ASCII and ISO-8859-1 are decoded here; other
// charsets that mail uses (ISO-2022-JP, Shift_JIS, GB18030, Big5, KOI8-R, windows-125x, ...)
// through iconv, from a fixed list, never a name the sender chose; a charset outside that list is
// taken as ASCII-compatible. Pure apart from iconv loading its converters; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace postern::filters {

// The text with each encoded-word replaced by its decoded text (invalid sequences become
// U+FFFD) and the whitespace between two adjacent encoded-words dropped (RFC 2047 §6.2).
std::string decode_encoded_words(std::string_view text);

}  // namespace postern::filters
