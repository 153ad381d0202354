// A spooled message as intake sees it: the header section, read from the spool's start with a
// bound, for the filters; then the message to queue — the rewritten header section followed by
// the rest of the spool, streamed — as a schema::ChunkSource.
//
//   auto head = read_header_section(spool, kMaxHeaderSection);  // nullopt: too large
//   std::string rewritten = filters::apply_submission_headers(head->header_section, context);
//   message.content = queued_content(std::move(rewritten) + head->body_start,
//                                    std::make_shared<MessageSpool>(std::move(spool)));
#pragma once

#include "postern/schema/message_chunks.hpp"
#include "server/queue/message_spool.hpp"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace postern::queue {

// The most header section intake reads into memory: 256 KiB, far beyond real mail (Postfix
// stops at 100 KiB) and one storage chunk. A message with more is refused with
// "552 5.3.4 Message header too large".
inline constexpr std::size_t kMaxHeaderSection = 256 * 1024;

struct HeaderSection {
  // From the start through the empty line that ends the header section (RFC 5322 §2.1), that
  // line included; the whole message when it has no empty line. What the filters read.
  std::string header_section;
  // Body bytes read along with it: the queued message continues with these, then the spool.
  std::string body_start;
};

// Reads from the spool's current position (its start) until the header section's end. nullopt
// when the header section is longer than `limit` octets. Throws SpoolError.
std::optional<HeaderSection> read_header_section(MessageSpool& spool, std::size_t limit);

// Yields `head`, then the spool from where reading stopped. The source shares the spool: it may
// be stored on a pool thread after the session has gone.
schema::ChunkSource queued_content(std::string head, std::shared_ptr<MessageSpool> spool);

}  // namespace postern::queue
