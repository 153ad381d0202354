// Sorts mails into share groups: `postern` share mails by their group id, `privmail` share mails
// by their UID. Share mails that cannot be used are kept with their reason, ordinary mails (a
// maildir holds others too) are counted and otherwise ignored, and a mail seen twice (the same
// file in a maildir and an mbox) counts once.
//
//   ShareCollection shares;
//   read_input(path, [&](SourcedMail mail) { shares.add(std::move(mail)); });
//   for (const auto& [id, group] : shares.groups()) combine_group(group);
//   for (const auto& [uid, group] : shares.privmail_groups()) combine_privmail_group(group);
#pragma once

#include "combine/mail_sources.hpp"
#include "shares/privmail_share_mail_parser.hpp"
#include "shares/share_metadata.hpp"

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace postern::combine {

struct CollectedShare {
  shares::ShareMetadata metadata;
  std::string bytes;
  std::string origin;
};

struct CollectedPrivmailShare {
  shares::PrivmailShare share;
  std::string origin;
};

struct BadShareMail {
  std::string origin;
  std::string reason;
};

class ShareCollection {
 public:
  void add(SourcedMail mail);

  const std::map<shares::ShareGroupId, std::vector<CollectedShare>>& groups() const { return groups_; }
  // By UID.
  const std::map<std::string, std::vector<CollectedPrivmailShare>>& privmail_groups() const { return privmail_groups_; }
  const std::vector<BadShareMail>& bad_mails() const { return bad_mails_; }
  std::size_t other_mails() const { return other_mails_; }

 private:
  void add_privmail(SourcedMail mail);

  std::map<shares::ShareGroupId, std::vector<CollectedShare>> groups_;
  std::map<std::string, std::vector<CollectedPrivmailShare>> privmail_groups_;
  std::vector<BadShareMail> bad_mails_;
  std::size_t other_mails_ = 0;
};

}  // namespace postern::combine
