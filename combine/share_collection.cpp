#include "combine/share_collection.hpp"

#include "shares/share_mail_parser.hpp"

#include <algorithm>

namespace postern::combine {

void ShareCollection::add(SourcedMail mail) {
  shares::ParsedShareMail parsed = shares::parse_share_mail(mail.bytes);
  switch (parsed.status) {
    case shares::ParsedShareMail::Status::NotAShare:
      add_privmail(std::move(mail));
      return;
    case shares::ParsedShareMail::Status::Bad:
      bad_mails_.push_back({std::move(mail.origin), std::move(parsed.error)});
      return;
    case shares::ParsedShareMail::Status::Share:
      break;
  }
  std::vector<CollectedShare>& group = groups_[parsed.share.id];
  const bool seen = std::any_of(group.begin(), group.end(), [&](const CollectedShare& share) {
    return share.metadata == parsed.share && share.bytes == parsed.bytes;
  });
  if (!seen) group.push_back({parsed.share, std::move(parsed.bytes), std::move(mail.origin)});
}

void ShareCollection::add_privmail(SourcedMail mail) {
  shares::ParsedPrivmailShareMail parsed = shares::parse_privmail_share_mail(mail.bytes);
  switch (parsed.status) {
    case shares::ParsedPrivmailShareMail::Status::NotAShare:
      ++other_mails_;
      return;
    case shares::ParsedPrivmailShareMail::Status::Bad:
      bad_mails_.push_back({std::move(mail.origin), std::move(parsed.error)});
      return;
    case shares::ParsedPrivmailShareMail::Status::Share:
      break;
  }
  // The same share twice would cancel out of the XOR: keep one.
  std::vector<CollectedPrivmailShare>& group = privmail_groups_[parsed.share.uid];
  const bool seen = std::any_of(group.begin(), group.end(), [&](const CollectedPrivmailShare& collected) {
    return collected.share.subject == parsed.share.subject && collected.share.body == parsed.share.body &&
           collected.share.truncated == parsed.share.truncated && collected.share.buckets == parsed.share.buckets;
  });
  if (!seen) group.push_back({std::move(parsed.share), std::move(mail.origin)});
}

}  // namespace postern::combine
