// A queued message's bytes for delivery, read one stored chunk at a time (schema::read_chunk,
// on the blocking pool, off the I/O threads; a small message's one chunk came with its claim)
// with the upstream's header rewrites (rewrite.hpp) applied to the header section only: the
// header section is held (intake refuses one over 256 KiB), the body streams past. Memory per
// message: the header section and a chunk or two, whatever the message's size.
//
//   ChunkReader chunks = claimed_chunks(pool, message, keys);  // a local: GCC 12 and awaited temporaries
//   std::unique_ptr<QueuedBody> body = co_await QueuedBody::open(std::move(chunks), message.size, upstream);
//   outbound.body = body.get();   // a BodySource (body_source.hpp): UpstreamSession pulls it
//
// The exact size as sent is known once open() returns, without reading the whole message: from
// the stored size, the rewritten header section's length and the last bytes of the last chunk.
// Every chunk is checked against the stored size, so a message that is gone or shorter than
// recorded fails with BodyUnreadable instead of going out truncated.
//
// For a DSN, read_header_section() returns the original header section alone.
#pragma once

#include "postern/schema/message_chunks.hpp"
#include "postern/schema/queue_store.hpp"
#include "server/delivery/body_source.hpp"
#include "server/delivery/upstream.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace postern {
class BlockingPool;
}

namespace postern::delivery {

// Chunk `seq` (0-based) of one stored message, nullopt past its end; throws when it cannot be read.
using ChunkReader = std::function<boost::asio::awaitable<std::optional<std::string>>(int seq)>;

// The chunks of a claimed message: the body it came with (a small one, opened at the claim),
// else each read by schema::read_chunk() on the pool and, when the message is sealed, opened
// there with (a copy of) `keys` (a key it lacks: SealKeyMissing).
ChunkReader claimed_chunks(BlockingPool& pool, const schema::ClaimedMessage& message, const schema::SealKeys& keys);

// The most of a message read to find the end of its header section: intake's 256 KiB limit plus
// the trace fields it adds, rounded up to two chunks.
inline constexpr std::size_t kMaxHeaderRead = 2 * schema::kChunkSize;

// Where reading a stored message stands: the chunks come one after the other, each checked
// against the size recorded in the queue (every chunk but the last is full).
class ChunkCursor {
 public:
  ChunkCursor(ChunkReader read, std::uint64_t stored_size, std::size_t chunk_size);

  std::uint64_t stored_size() const { return stored_size_; }
  std::uint64_t offset() const { return offset_; }  // bytes handed out by next() so far
  bool at_end() const { return offset_ == stored_size_; }
  // The next chunk. Throws BodyUnreadable.
  boost::asio::awaitable<std::string> next();
  // The last two bytes of the message (fewer when it is shorter), without moving.
  boost::asio::awaitable<std::string> last_bytes();

 private:
  boost::asio::awaitable<std::string> chunk(std::uint64_t seq);

  ChunkReader read_;
  std::uint64_t stored_size_;
  std::size_t chunk_size_;
  std::uint64_t next_seq_ = 0;
  std::uint64_t offset_ = 0;
};

class QueuedBody final : public BodySource {
 public:
  // Given the final header section (after the rewrites, without its empty line), the fields to
  // prepend to it: the DKIM signatures, made over the message as it goes out.
  using HeaderSigner = std::function<std::string(std::string_view header_section)>;

  // Reads the first chunk (and, with rewrites, the chunks up to the end of the header section;
  // for a message longer than what was read, its last chunk) and prepares the pieces. `upstream`
  // gives the rewrites; `signer`, when set, the fields prepended. Throws BodyUnreadable, also when
  // the header section is to be rewritten or signed and does not end within kMaxHeaderRead.
  static boost::asio::awaitable<std::unique_ptr<QueuedBody>> open(ChunkReader read, std::uint64_t stored_size,
                                                                  const Upstream& upstream,
                                                                  std::size_t chunk_size = schema::kChunkSize,
                                                                  HeaderSigner signer = {});

  std::uint64_t size_as_sent() const override { return size_as_sent_; }
  bool finished() const override { return head_.empty() && cursor_.at_end(); }
  boost::asio::awaitable<std::string> next_piece() override;

 private:
  explicit QueuedBody(ChunkCursor cursor) : cursor_(std::move(cursor)) {}
  boost::asio::awaitable<void> prepare(const Upstream& upstream, const HeaderSigner& signer);

  ChunkCursor cursor_;
  std::string head_;  // the first piece: the (rewritten) header section and the body read with it
  std::uint64_t size_as_sent_ = 0;
};

// The message's header section as stored, without the empty line that ends it (all of a message
// that has none); one that does not end within kMaxHeaderRead is cut after its last complete
// line there. Throws BodyUnreadable.
boost::asio::awaitable<std::string> read_header_section(ChunkReader read, std::uint64_t stored_size,
                                                        std::size_t chunk_size = schema::kChunkSize);

}  // namespace postern::delivery
