// Combines one `privmail` share group (the share mails of one UID) into the message that
// restored_privmail_message writes, or says why it cannot. The format has no share count and no
// hash: the group's blocks are checked against each other (shares/privmail_combiner.hpp), which
// tells a missing, damaged or foreign share for all but the shortest texts. Problems name the
// group's mails.
//
//   GroupOutcome outcome = combine_privmail_group(shares.privmail_groups().at(uid));
//   if (outcome.message) output.write(privmail_output_name(uid), *outcome.message);
#pragma once

#include "combine/group_combination.hpp"
#include "combine/share_collection.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace postern::combine {

GroupOutcome combine_privmail_group(const std::vector<CollectedPrivmailShare>& group);

// "privmail-" and the UID's 6 bytes in hex: a file name, unlike the UID's base64.
std::string privmail_output_name(std::string_view uid);

}  // namespace postern::combine
