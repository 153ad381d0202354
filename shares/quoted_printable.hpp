// Decodes a quoted-printable body (RFC 2045 §6.7) as Python's binascii.a2b_qp does, which is
// what PrivMail's text extraction uses: "=XX" (either case) is the byte XX, "=" before a line
// end is a soft line break (dropped with its line end), "==" is one "=", any other "=" stays as
// it is, a last lone "=" is dropped, and line ends and white space are left alone.
//
//   std::string text = decode_quoted_printable("caf=C3=A9 =\r\nau lait\r\n");   // "caf\xC3\xA9 au lait\r\n"
#pragma once

#include <string>
#include <string_view>

namespace postern::shares {

std::string decode_quoted_printable(std::string_view encoded);

}  // namespace postern::shares
