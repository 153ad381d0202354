// See dkim_body_hash.hpp.
#include "server/queue/dkim_body_hash.hpp"

#include <algorithm>
#include <optional>
#include <string_view>

namespace postern::queue {

schema::ChunkSource hashing_body(schema::ChunkSource content, std::size_t header_size,
                                 std::shared_ptr<dkim::BodyHasher> hasher) {
  return [content = std::move(content), skip = header_size, hasher = std::move(hasher)](char* data,
                                                                                        std::size_t size) mutable {
    const std::size_t n = content(data, size);
    const std::size_t skipped = std::min(skip, n);
    skip -= skipped;
    hasher->update(std::string_view(data + skipped, n - skipped));
    return n;
  };
}

std::function<std::string()> body_hash_of(std::shared_ptr<dkim::BodyHasher> hasher) {
  auto hash = std::make_shared<std::optional<std::string>>();
  return [hasher = std::move(hasher), hash] {
    if (!*hash) *hash = hasher->finish();
    return **hash;
  };
}

}  // namespace postern::queue
