// Syntax of the envelope commands' arguments: "FROM:<path> params" and "TO:<path>", the path's
// mailbox, and the MAIL parameters Postern advertises. Pure functions, no policy: the protocol
// calls split_path_argument(), then parse_mail_parameters() (MAIL only), strip_source_route()
// and check_mailbox(), and turns each problem into its reply.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace smtp {

// Longest mailbox Postern accepts (RFC 5321 §4.5.3.1.3 limits a path to 256 octets with its
// angle brackets).
inline constexpr std::size_t kMaxMailboxLength = 254;

enum class BodyType { SevenBit, EightBitMime };

struct PathArgument {
  std::string_view path;        // between the angle brackets
  std::string_view parameters;  // after the path and one space; may be empty
};

// Splits "FROM:<path> params" (keyword "FROM:") or "TO:<path>" (keyword "TO:"). The keyword is
// case-insensitive and one space may follow its colon, as many clients send one.
// Nothing when the argument does not have that shape (RFC 5321 §4.1.1.2, §4.1.1.3).
std::optional<PathArgument> split_path_argument(std::string_view argument, std::string_view keyword);

struct MailParameters {
  BodyType body = BodyType::SevenBit;
  bool smtputf8 = false;
};

enum class ParameterProblem {
  None,
  Unsupported,  // unknown keyword, malformed or repeated parameter
  TooLarge,     // SIZE= above the limit (RFC 1870 §6.1)
};

struct MailParametersParse {
  MailParameters parameters;
  ParameterProblem problem = ParameterProblem::None;
};

// Parses the MAIL parameters: SIZE=n (RFC 1870), BODY=7BIT|8BITMIME (RFC 6152), SMTPUTF8
// (RFC 6531) and AUTH=... (RFC 4954 §5, accepted and ignored). Keywords are case-insensitive.
MailParametersParse parse_mail_parameters(std::string_view text, std::size_t max_message_size);

// Drops an obsolete source route ("@a,@b:user@c" -> "user@c"; RFC 5321 §4.1.2, C.6).
// Nothing when the route is malformed.
std::optional<std::string_view> strip_source_route(std::string_view path);

enum class MailboxProblem {
  None,
  BadSyntax,
  NonAsciiWithoutSmtpUtf8,  // RFC 6531 §3.4
};

// Checks a mailbox "local@domain": a dot-string or quoted local part and a domain name or
// address literal (RFC 5321 §4.1.2), at most kMaxMailboxLength octets, no spaces or control
// characters, and UTF-8 beyond ASCII only when the transaction announced SMTPUTF8.
MailboxProblem check_mailbox(std::string_view mailbox, bool smtputf8);

}  // namespace smtp
