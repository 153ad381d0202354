// One share mail of a message, made in one pass over the message as it streams from the queue:
// the message is framed (secret_framing.hpp), share `fields.share.index` of the framed secret is
// drawn with the group's seed (share_splitter.hpp), and the share is written as a `postern` share
// mail (share_mail.hpp). Memory stays bounded whatever the message's size.
//
//   Seed group_seed = derive_seed(message_seed, recipient);
//   fields.share = {derive_group_id(group_seed), index, {Scheme::Shamir, 2, 3}};
//   ShareMailWriter writer(fields, message_size, group_seed);
//   upstream.declare_size(writer.mail_size());
//   for (piece : message) upstream.send(writer.write(piece));
//   upstream.send(writer.finish());
//
// The same message, seed and fields give the same mail byte for byte, pass after pass.
#pragma once

#include "shares/secret_framing.hpp"
#include "shares/seed.hpp"
#include "shares/share_mail.hpp"
#include "shares/share_splitter.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace postern::shares {

class ShareMailWriter {
 public:
  // Throws std::invalid_argument for unusable fields (ShareMailEncoder, ShareSplitter).
  ShareMailWriter(const ShareMailFields& fields, std::uint64_t message_size, const Seed& group_seed);

  // The share mail's exact size.
  std::uint64_t mail_size() const { return mail_size_; }

  // The mail's next bytes for the message's next piece. Throws std::length_error when the
  // message is longer than `message_size`.
  std::string write(std::string_view message_piece);

  // The rest of the mail. Throws std::length_error when the message was shorter.
  std::string finish();

 private:
  SecretFramer framer_;
  ShareSplitter splitter_;
  ShareMailEncoder encoder_;
  std::uint64_t mail_size_;
};

}  // namespace postern::shares
