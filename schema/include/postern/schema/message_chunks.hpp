// A queued message's bytes in PostgreSQL: rows of kChunkSize octets in postern_message_chunks,
// so that no statement, no buffer and no PostgreSQL backend ever holds a whole 25 MiB message.
//
// schema::enqueue() stores the first chunk with the envelope, in one statement, and the others
// with store_chunks() in the same transaction, so the message commits whole or not at all.
// Readers (delivery, `mailadmin queue show --body`) fetch one chunk at a time until nullopt:
//
//   for (int seq = 0; auto chunk = read_chunk(db, id, seq); ++seq) out.write(*chunk);
//
// A message queued by a replica older than migration 5 has its body whole in
// postern_queue.message and no chunks; read_chunk() serves it in kChunkSize slices cut in SQL,
// so readers never tell the two layouts apart. Call prepare_chunk_statements() once per
// connection (prepare_queue_statements() does); it also tells the database that this connection
// reads chunks, which lets its claims take chunked messages (see migrations/0005).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

namespace pqxx {
class connection_base;
class transaction_base;
}  // namespace pqxx

namespace postern::schema {

inline constexpr std::size_t kChunkSize = 256 * 1024;

// Reads up to `size` bytes into `data`; returns how many, 0 at the end.
using ChunkSource = std::function<std::size_t(char* data, std::size_t size)>;

// Reads the next chunk's bytes from `source` into `chunk`: kChunkSize of them, fewer only where the
// source ends (none past its end).
void take_chunk(const ChunkSource& source, std::string& chunk);

// The chunks of a source, each known to be the message's last or not, as a sealed chunk must be
// (seal.hpp): a full chunk is followed by the next one read ahead.
class ChunkStream {
 public:
  explicit ChunkStream(ChunkSource source) : source_(std::move(source)) {}

  // The next chunk into `chunk`; false when none is left (an empty source has none).
  bool next(std::string& chunk);
  // Whether the chunk next() gave last ends the message.
  bool last() const { return done_; }

 private:
  ChunkSource source_;
  std::string ahead_;  // the chunk after a full one, when there is one
  bool done_ = false;
};

// The number of the last chunk of a message of `size` bytes (0 for an empty one).
inline std::int64_t last_chunk_seq(std::uint64_t size) {
  return size == 0 ? 0 : static_cast<std::int64_t>((size - 1) / kChunkSize);
}

struct SealKey;

// Stores the rest of `stream` as chunks of kChunkSize, numbered from `first_seq` on (1 when the
// caller stored chunk 0 itself), inside the caller's transaction, each sealed under `seal` when
// it is set; returns how many bytes (before sealing).
std::uint64_t store_chunks(pqxx::transaction_base& tx, const std::string& message_id, ChunkStream& stream,
                           int first_seq = 0, const SealKey* seal = nullptr);

// Chunk `seq` (0-based) of a message, or nullopt past its end. A message queued by an older replica
// (its body still whole in postern_queue.message) is served in kChunkSize slices of it (substring in SQL,
// so no statement carries the whole body). Runs outside any transaction (one autocommit
// statement); throws DatabaseUnavailable.
std::optional<std::string> read_chunk(pqxx::connection_base& db, const std::string& message_id, int seq);

void prepare_chunk_statements(pqxx::connection_base& db);

}  // namespace postern::schema
