// One share mail of a queued message, as delivery sends it: the stored chunks stream through a
// shares::ShareMailWriter (framing, this share's draw, the share mail), one chunk at a time, so a
// share of a 25 MiB message holds no more memory than any delivery. The same message, seed and
// fields give the same mail byte for byte on every attempt.
//
//   ChunkReader chunks = claimed_chunks(pool, message, keys);
//   ShareBody body{std::move(chunks), message.size, fields, group_seed};
//   outbound.body = &body;   // a BodySource (body_source.hpp)
//
// The privmail format is made whole instead (privmail_share_body()): it carries at most 1 MiB.
#pragma once

#include "server/delivery/body_source.hpp"
#include "server/delivery/queued_body.hpp"
#include "shares/seed.hpp"
#include "shares/share_mail.hpp"
#include "shares/share_mail_writer.hpp"

#include <cstdint>
#include <memory>

namespace postern::sharing {

class ShareBody final : public delivery::BodySource {
 public:
  // Throws std::invalid_argument for unusable fields (ShareMailWriter).
  ShareBody(delivery::ChunkReader read, std::uint64_t stored_size, const shares::ShareMailFields& fields,
            const shares::Seed& group_seed);

  std::uint64_t size_as_sent() const override { return writer_.mail_size(); }
  bool finished() const override { return finished_; }
  boost::asio::awaitable<std::string> next_piece() override;

 private:
  delivery::ChunkCursor cursor_;
  shares::ShareMailWriter writer_;
  bool finished_ = false;
};

// Share `index` of `count` in the privmail format (shares/privmail_share_mail.hpp), made whole:
// the stored message is read into memory (intake let only messages of at most 1 MiB through
// for this format) and checked again. Throws BodyUnreadable when it cannot be read or has not
// the format's shape.
boost::asio::awaitable<std::unique_ptr<delivery::BodySource>> privmail_share_body(delivery::ChunkReader read,
                                                                                  std::uint64_t stored_size,
                                                                                  unsigned index, unsigned count,
                                                                                  const shares::Seed& group_seed);

// The fields of share `index` of the group drawn from `group_seed`: the share group id comes
// from the seed, the Date from the message's arrival and the Message-ID from both, so that a
// retry writes the same mail.
shares::ShareMailFields share_mail_fields(const shares::Seed& group_seed, unsigned index,
                                          const shares::SharingParams& params, const std::string& from,
                                          const std::string& to, long long arrival_time,
                                          const std::string& hostname);

}  // namespace postern::sharing
