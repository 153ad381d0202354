// The `privmail` format's two readers with arbitrary mail: check_privmail_shape(), which the relay
// runs on every message submitted for a privmail recipient, and parse_privmail_share_mail(),
// which postern-combine runs on every mail in a mailbox. Checks what they promise:
// - a message the shape check accepts has 7-bit ASCII Subject and text, a Subject of at most 735
//   characters without line break or NUL, and round-trips: its share mails (2 and 3 of them) are
//   7-bit, parse back as share mails of one UID, and combine into exactly its Subject and text;
//   a refusal is one printable line;
// - a share mail the parser accepts has an 8-character UID, 7-bit Subject and body shares,
//   6-bit truncated and bucket shares, and bucket entries as long as their bucket's size; a
//   refusal says why.
//
// Input: the mail itself (tried as a submitted message and as a received share mail).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "shares/privmail_combiner.hpp"
#include "shares/privmail_message_shape.hpp"
#include "shares/privmail_share_mail.hpp"
#include "shares/privmail_share_mail_parser.hpp"

namespace {

using namespace postern::shares;

void check(bool invariant) {
  if (!invariant) std::abort();
}

bool fits(std::string_view values, unsigned bits) {
  for (const char c : values) {
    if ((static_cast<unsigned char>(c) >> bits) != 0) return false;
  }
  return true;
}

void check_share_mail_parser(std::string_view mail) {
  const ParsedPrivmailShareMail parsed = parse_privmail_share_mail(mail);
  if (parsed.status == ParsedPrivmailShareMail::Status::Bad) check(!parsed.error.empty());
  if (parsed.status != ParsedPrivmailShareMail::Status::Share) return;
  const PrivmailShare& share = parsed.share;
  check(share.uid.size() == 8);
  check(fits(share.subject, 7) && fits(share.body, 7) && fits(share.truncated, 6));
  for (const PrivmailBucket& bucket : share.buckets) {
    for (const std::string& entry : bucket.entries) check(entry.size() == bucket.size && fits(entry, 6));
  }
}

void check_shape_and_round_trip(std::string_view message) {
  const PrivmailShape shape = check_privmail_shape(message);
  if (!shape.content) {
    check(!shape.problem.empty());
    for (const char c : shape.problem) check(c >= ' ' && c <= '~');
    return;
  }
  const PrivmailContent& content = *shape.content;
  check(fits(content.subject, 7) && fits(content.text, 7));
  check(content.subject.size() <= kPrivmailMaxSubjectLength);
  check(content.subject.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);

  Seed seed{};
  seed[0] = static_cast<std::uint8_t>(message.size());
  for (const unsigned count : {2u, 3u}) {
    std::vector<PrivmailShare> shares;
    for (unsigned index = 1; index <= count; ++index) {
      const std::string mail = write_privmail_share_mail(content, index, count, seed);
      check(fits(mail, 7));
      const ParsedPrivmailShareMail parsed = parse_privmail_share_mail(mail);
      check(parsed.status == ParsedPrivmailShareMail::Status::Share);
      check(parsed.share.uid == privmail_uid(seed));
      shares.push_back(parsed.share);
    }
    const PrivmailCombination combined = combine_privmail_shares(shares);
    check(combined.error.empty());
    check(combined.subject == content.subject && combined.text == content.text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view mail(reinterpret_cast<const char*>(data), size);
  check_share_mail_parser(mail);
  check_shape_and_round_trip(mail);
  return 0;
}
