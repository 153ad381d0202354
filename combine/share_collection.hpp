// Sorts mails into share groups of the `postern` format by their group id. Share mails that
// cannot be used are kept with their reason, ordinary mails (a maildir holds others too) are
// counted and otherwise ignored, and a mail seen twice (the same file in a maildir and an mbox)
// counts once. Another share format gets a collection of its own beside this one.
//
//   ShareCollection shares;
//   read_input(path, [&](SourcedMail mail) { shares.add(std::move(mail)); });
//   for (const auto& [id, group] : shares.groups()) combine_group(id, group);
#pragma once

#include "combine/mail_sources.hpp"
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

struct BadShareMail {
  std::string origin;
  std::string reason;
};

class ShareCollection {
 public:
  void add(SourcedMail mail);

  const std::map<shares::ShareGroupId, std::vector<CollectedShare>>& groups() const { return groups_; }
  const std::vector<BadShareMail>& bad_mails() const { return bad_mails_; }
  std::size_t other_mails() const { return other_mails_; }

 private:
  std::map<shares::ShareGroupId, std::vector<CollectedShare>> groups_;
  std::vector<BadShareMail> bad_mails_;
  std::size_t other_mails_ = 0;
};

}  // namespace postern::combine
