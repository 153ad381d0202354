// See share_body.hpp.
#include "server/sharing/share_body.hpp"

#include "server/filters/submission_headers.hpp"
#include "shares/share_group_id.hpp"

namespace postern::sharing {

ShareBody::ShareBody(delivery::ChunkReader read, std::uint64_t stored_size, const shares::ShareMailFields& fields,
                     const shares::Seed& group_seed)
    : cursor_(std::move(read), stored_size, schema::kChunkSize), writer_(fields, stored_size, group_seed) {}

boost::asio::awaitable<std::string> ShareBody::next_piece() {
  std::string piece;
  if (!cursor_.at_end()) {
    std::string chunk = co_await cursor_.next();
    piece = writer_.write(chunk);
  }
  if (cursor_.at_end()) {
    piece += writer_.finish();
    finished_ = true;
  }
  co_return piece;
}

shares::ShareMailFields share_mail_fields(const shares::Seed& group_seed, unsigned index,
                                          const shares::SharingParams& params, const std::string& from,
                                          const std::string& to, long long arrival_time,
                                          const std::string& hostname) {
  shares::ShareMailFields fields;
  fields.share.id = shares::derive_group_id(group_seed);
  fields.share.index = index;
  fields.share.params = params;
  fields.from = from;
  fields.to = to;
  fields.date = filters::rfc5322_date(static_cast<std::time_t>(arrival_time));
  fields.message_id = "<" + fields.share.id.hex() + "." + std::to_string(index) + "@" + hostname + ">";
  return fields;
}

}  // namespace postern::sharing
