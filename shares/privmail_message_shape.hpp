// Whether a message has the shape the `privmail` share format can carry, and what of it that
// format carries. PrivMail shares only the Subject and a single text/plain body, in 7-bit ASCII;
// Postern refuses every other message for a privmail recipient (with 554 5.6.0 and the reason
// here) rather than lose part of it:
//
//   if (std::string problem = privmail_size_problem(message_size); !problem.empty()) refuse(problem);
//   PrivmailShape shape = check_privmail_shape(message);   // the whole message as submitted
//   if (!shape.content) refuse(shape.problem);              // "554 5.6.0 " + shape.problem
//   write_privmail_share_mail(*shape.content, index, count, group_seed);
//
// Refused: messages over 1 MiB (kPrivmailMaxMessageSize; the format is made whole in memory);
// multipart messages (attachments, HTML alternatives); a body that is not text/plain, or is an
// attachment, or in a charset that is not ASCII-compatible, or in an unknown transfer encoding;
// non-ASCII characters in the Subject or body (PrivMail would replace each by '?', silently
// changing the text; Postern refuses instead) and in the From, To and Cc fields (they travel
// in clear in a 7-bit mail); a Subject of more than 735 characters (the share's Subject line
// must stay within RFC 5322's 998); more than one Subject, Content-Type or
// Content-Transfer-Encoding field; a header line that is no field.
//
// What is carried, as Python's email package reads it for PrivMail: the Subject unfolded, its
// leading white space removed and its encoded-words decoded; the body with its transfer encoding
// undone and its line ends as they are (CRLF as submitted). No Subject shares an empty one.
// Other header fields are not carried (the From, To and Cc values travel in clear).
//
// Every problem is one line of printable ASCII, fit for an SMTP reply.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace postern::shares {

inline constexpr std::uint64_t kPrivmailMaxMessageSize = 1024 * 1024;
inline constexpr std::size_t kPrivmailMaxSubjectLength = 735;

struct PrivmailContent {
  // Header fields copied in clear into each share mail, as written after the colon without the
  // leading white space (folded lines kept, CRLF); nullopt when the message has none.
  std::optional<std::string> from;
  std::optional<std::string> to;
  std::optional<std::string> cc;
  std::string subject;  // 7-bit ASCII
  std::string text;     // 7-bit ASCII

  bool operator==(const PrivmailContent&) const = default;
};

struct PrivmailShape {
  std::optional<PrivmailContent> content;  // set when the format can carry the message
  std::string problem;                     // else why not
};

// Empty when a message of `message_size` bytes is small enough, else why not. The relay can ask
// before it reads the message into memory.
std::string privmail_size_problem(std::uint64_t message_size);

PrivmailShape check_privmail_shape(std::string_view message);

}  // namespace postern::shares
