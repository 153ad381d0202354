// The `postern` share mail parser with arbitrary mail: whatever arrives in a recipient's mailbox
// goes through parse_share_mail(). Checks what it promises: a mail it accepts has valid metadata
// (index within 1..n, usable k and n) and a share of a positive multiple of 4096 bytes, and
// writing that share again as a share mail and parsing it gives the same metadata and bytes; a
// refusal always says why, and mail without the header field is no share.
//
// Input: the mail itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "shares/share_mail.hpp"
#include "shares/share_mail_parser.hpp"

namespace {

using namespace postern::shares;

void check(bool invariant) {
  if (!invariant) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view mail(reinterpret_cast<const char*>(data), size);
  const ParsedShareMail parsed = parse_share_mail(mail);
  switch (parsed.status) {
    case ParsedShareMail::Status::NotAShare:
      check(parsed.error.empty() && parsed.bytes.empty());
      return 0;
    case ParsedShareMail::Status::Bad:
      check(!parsed.error.empty());
      return 0;
    case ParsedShareMail::Status::Share:
      break;
  }
  check(params_problem(parsed.share.params).empty());
  check(parsed.share.index >= 1 && parsed.share.index <= parsed.share.params.count);
  check(!parsed.bytes.empty() && parsed.bytes.size() % 4096 == 0);

  ShareMailEncoder encoder(ShareMailFields{"a@example.com", "b@example.com", "Tue, 02 Jan 2024 10:00:00 +0000",
                                           "<fuzz@example.com>", parsed.share});
  std::string again = encoder.encode(parsed.bytes);
  again += encoder.finish();
  check(again.size() == encoder.mail_size(parsed.bytes.size()));
  const ParsedShareMail reparsed = parse_share_mail(again);
  check(reparsed.status == ParsedShareMail::Status::Share);
  check(reparsed.share == parsed.share && reparsed.bytes == parsed.bytes);
  return 0;
}
