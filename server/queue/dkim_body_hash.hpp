// The DKIM body hash of a message being queued, computed as its content streams into the queue
// (no second read of the spool): the bytes after the header section go through a
// dkim::BodyHasher on their way to the chunks.
//
//   queued.content = hashing_body(std::move(content), header_size, hasher);
//   queued.dkim_body_hash = body_hash_of(hasher);   // asked by enqueue once all is read
#pragma once

#include "dkim/canonical.hpp"
#include "postern/schema/message_chunks.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace postern::queue {

// `content` as it is, feeding `hasher` every byte after its first `header_size` (the header
// section with its empty line).
schema::ChunkSource hashing_body(schema::ChunkSource content, std::size_t header_size,
                                 std::shared_ptr<dkim::BodyHasher> hasher);

// The hash, finished on the first call and the same on later ones.
std::function<std::string()> body_hash_of(std::shared_ptr<dkim::BodyHasher> hasher);

}  // namespace postern::queue
