// Reads a `privmail` share mail (privmail_share_mail.hpp) back, whether Postern or PrivMail's own
// Sender Client Proxy wrote it: the UID and Subject share from the Subject (encoded-words, which
// Python writes for long Subjects, are decoded), and the shares of its blocks from the body (a
// quoted-printable or base64 transfer encoding that a provider applied is undone; lines outside
// the blocks, such as a provider's footer, are ignored; LF or CRLF; trailing blanks).
//
//   ParsedPrivmailShareMail parsed = parse_privmail_share_mail(mail_bytes);
//   switch (parsed.status) {
//     case ParsedPrivmailShareMail::Status::Share: collect(parsed.share); break;
//     case ParsedPrivmailShareMail::Status::NotAShare: break;   // no SECRET SHARE BLOCK
//     case ParsedPrivmailShareMail::Status::Bad: report(parsed.error); break;
//   }
//
// A mail is a share mail when its text/plain body has a "-----BEGIN SECRET SHARE BLOCK Ver1.0-----"
// line. It is Bad unless the blocks are well formed: one body block and one truncated block,
// each bucket size at most once, every block closed, valid base64, values of 7 bits (Subject,
// body) or 6 bits (truncated, buckets), bucket entries as long as their size; and the Subject
// starts with an 8-character base64 UID followed by base64.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::shares {

struct PrivmailBucket {
  std::size_t size = 0;
  std::vector<std::string> entries;  // share values of one padded word each

  bool operator==(const PrivmailBucket&) const = default;
};

struct PrivmailShare {
  std::string uid;        // the 8 characters that link the shares of a message
  std::string subject;    // share values, 7-bit
  std::string body;       // share values, 7-bit
  std::string truncated;  // share values, 6-bit
  std::vector<PrivmailBucket> buckets;  // in the mail's order
  // The copied fields, unfolded and trimmed; nullopt when absent.
  std::optional<std::string> from;
  std::optional<std::string> to;
  std::optional<std::string> cc;

  bool operator==(const PrivmailShare&) const = default;
};

struct ParsedPrivmailShareMail {
  enum class Status { Share, NotAShare, Bad };
  Status status = Status::NotAShare;
  PrivmailShare share;
  std::string error;
};

ParsedPrivmailShareMail parse_privmail_share_mail(std::string_view mail);

}  // namespace postern::shares
