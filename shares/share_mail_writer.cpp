#include "shares/share_mail_writer.hpp"

namespace postern::shares {

ShareMailWriter::ShareMailWriter(const ShareMailFields& fields, std::uint64_t message_size,
                                 const Seed& group_seed)
    : framer_(message_size),
      splitter_(fields.share.params, fields.share.index, group_seed),
      encoder_(fields),
      mail_size_(encoder_.mail_size(framed_size(message_size))) {}

std::string ShareMailWriter::write(std::string_view message_piece) {
  return encoder_.encode(splitter_.split(framer_.frame(message_piece)));
}

std::string ShareMailWriter::finish() {
  std::string out = encoder_.encode(splitter_.split(framer_.finish()));
  out += encoder_.finish();
  return out;
}

}  // namespace postern::shares
