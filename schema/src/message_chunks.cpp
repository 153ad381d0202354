// Message bodies as chunk rows. See message_chunks.hpp.
#include "postern/schema/message_chunks.hpp"

#include "guarded.hpp"
#include "postern/schema/seal.hpp"

#include <pqxx/pqxx>

#include <algorithm>

namespace postern::schema {
namespace {

constexpr const char* kInsertChunk =
    "INSERT INTO postern_message_chunks (message_id, seq, data) VALUES ($1, $2, $3)";

// The chunk, or for a message that has no chunks at all (queued whole by an older replica) the
// same slice of postern_queue.message, cut by postern_legacy_message_slice() (migrations/0005):
// through that function, this statement stays valid once the column is dropped. No row, or
// NULL, past the end.
constexpr const char* kReadChunk = R"sql(
SELECT data FROM postern_message_chunks WHERE message_id = $1 AND seq = $2
UNION ALL
SELECT postern_legacy_message_slice($1, $2, $3)
 WHERE NOT EXISTS (SELECT 1 FROM postern_message_chunks WHERE message_id = $1)
)sql";

// The first read's room; it doubles up to kChunkSize while the source fills it, so a small
// message never pays for a whole chunk's buffer.
constexpr std::size_t kFirstRead = 16 * 1024;

}  // namespace

void take_chunk(const ChunkSource& source, std::string& chunk) {
  chunk.clear();
  std::size_t room = kFirstRead;
  for (;;) {
    const std::size_t filled = chunk.size();
    chunk.resize(room);
    const std::size_t n = source(chunk.data() + filled, room - filled);
    chunk.resize(filled + n);
    if (n == 0 || chunk.size() == kChunkSize) return;
    if (chunk.size() == room) room = std::min(kChunkSize, room * 2);
  }
}

bool ChunkStream::next(std::string& chunk) {
  if (done_) return false;
  if (ahead_.empty()) {
    take_chunk(source_, chunk);
  } else {
    chunk.swap(ahead_);
    ahead_.clear();
  }
  if (chunk.empty()) {
    done_ = true;
    return false;
  }
  if (chunk.size() == kChunkSize) take_chunk(source_, ahead_);
  done_ = ahead_.empty();
  return true;
}

std::uint64_t store_chunks(pqxx::transaction_base& tx, const std::string& message_id, ChunkStream& stream,
                           int first_seq, const SealKey* seal) {
  std::string chunk;
  std::uint64_t total = 0;
  for (int seq = first_seq; stream.next(chunk); ++seq) {
    const std::string stored = seal ? seal_chunk(*seal, message_id, seq, stream.last(), chunk) : std::string();
    const std::string& data = seal ? stored : chunk;
    tx.exec_prepared("chunk_insert", message_id, seq, pqxx::binarystring(data.data(), data.size()));
    total += chunk.size();
  }
  return total;
}

std::optional<std::string> read_chunk(pqxx::connection_base& db, const std::string& message_id, int seq) {
  return guarded([&]() -> std::optional<std::string> {
    pqxx::nontransaction tx{db};
    const auto rows = tx.exec_prepared("chunk_read", message_id, seq, static_cast<int>(kChunkSize));
    if (rows.empty() || rows[0][0].is_null()) return std::nullopt;
    return pqxx::binarystring(rows[0][0]).str();
  });
}

void prepare_chunk_statements(pqxx::connection_base& db) {
  db.prepare("chunk_insert", kInsertChunk);
  db.prepare("chunk_read", kReadChunk);
  // Claims by connections without this setting skip messages stored in chunks: they are
  // replicas older than migration 5, which would deliver them empty (migrations/0005).
  db.set_variable("postern.reads_chunks", "on");
}

}  // namespace postern::schema
