// Decodes the RFC 2047 encoded-words of an unstructured header field (a Subject) the way
// Python's email package reads them, which is what PrivMail shares: "=?charset?B?...?=" and
// "=?charset?Q?...?=" (either case, a "*language" after the charset ignored) are replaced by
// their bytes wherever they occur, white space between two adjacent encoded-words is dropped,
// and text that only looks like the start of one stays as it is.
//
//   DecodedWords decoded = decode_encoded_words("=?utf-8?q?Caf=C3=A9?= au lait");
//   // decoded.bytes == "Caf\xC3\xA9 au lait", decoded.charsets == {"utf-8"}
//
// The bytes are in whatever charsets the words name; a caller that needs one character set
// checks `charsets`. A B-word whose text is not base64 makes `error` say so.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace postern::shares {

struct DecodedWords {
  std::string bytes;
  std::vector<std::string> charsets;  // of the decoded words, lower case, in order
  std::string error;                  // empty unless a word could not be decoded
};

DecodedWords decode_encoded_words(std::string_view text);

}  // namespace postern::shares
