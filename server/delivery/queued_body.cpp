// See queued_body.hpp.
#include "server/delivery/queued_body.hpp"

#include "server/delivery/rewrite.hpp"
#include "server/runtime/blocking_pool.hpp"
#include "postern/schema/seal.hpp"

#include <pqxx/connection_base>

#include <algorithm>
#include <string_view>
#include <utility>

namespace postern::delivery {
namespace asio = boost::asio;

namespace {

constexpr std::size_t npos = std::string::npos;

// How a sealed message's chunks open: with these keys, chunk `last` being its last. Copied into
// each read: a read on the pool may outlive the attempt that asked for it.
struct Unsealing {
  schema::SealKeys keys;
  std::int64_t last = 0;
};

std::optional<std::string> read_stored(pqxx::connection_base& db, const std::string& id, int seq,
                                       const std::optional<Unsealing>& unsealing) {
  std::optional<std::string> stored = schema::read_chunk(db, id, seq);
  if (!stored || !unsealing) return stored;
  return schema::open_chunk(unsealing->keys, id, seq, seq == unsealing->last, *stored);
}

// The chunk is read, and opened, on the pool: opening is CPU work too.
asio::awaitable<std::optional<std::string>> read_on_pool(BlockingPool& pool, std::string message_id, int seq,
                                                         std::optional<Unsealing> unsealing) {
  std::optional<std::string> chunk = co_await pool.run(
      [](BlockingContext& c, const std::string& id, int n, const std::optional<Unsealing>& u) {
        return read_stored(c.store().connection(), id, n, u);
      },
      std::move(message_id), seq, std::move(unsealing));
  co_return chunk;
}

// A body held whole, as chunk 0 (an empty one has no chunk).
asio::awaitable<std::optional<std::string>> held_chunk(std::shared_ptr<const std::string> body, int seq) {
  if (seq != 0 || body->empty()) co_return std::nullopt;
  co_return *body;
}

// The start of a stored message, read to find where its header section ends.
struct Head {
  std::string bytes;             // the chunks read, from the message's start
  std::size_t header_end = npos;  // where the empty line starts (filters::HeaderBlock's
                                  // header_end); the size of a message without one; npos when
                                  // not within the bytes read
};

// Where the empty line that ends the header section starts in `bytes`, looking from `from` on;
// npos when it is not there. Intake lets only CRLF line ends through, so the empty line is a
// CRLF at the very start or right after another one.
std::size_t header_end_in(std::string_view bytes, std::size_t from) {
  if (bytes.starts_with("\r\n")) return 0;
  const std::size_t blank = bytes.find("\r\n\r\n", from);
  return blank == npos ? npos : blank + 2;
}

// Reads chunks until the header section's end is among them, the message is all read, or
// kMaxHeaderRead bytes are.
asio::awaitable<Head> read_head(ChunkCursor& cursor) {
  Head head;
  while (!cursor.at_end() && head.bytes.size() < kMaxHeaderRead) {
    const std::size_t searched = head.bytes.size() < 3 ? 0 : head.bytes.size() - 3;  // it may straddle chunks
    std::string chunk = co_await cursor.next();
    head.bytes += chunk;
    head.header_end = header_end_in(head.bytes, searched);
    if (head.header_end != npos) co_return head;
  }
  if (cursor.at_end()) head.header_end = head.bytes.size();  // all header section
  co_return head;
}

}  // namespace

ChunkReader claimed_chunks(BlockingPool& pool, const schema::ClaimedMessage& message, const schema::SealKeys& keys) {
  if (message.body) return [body = message.body](int seq) { return held_chunk(body, seq); };
  std::optional<Unsealing> unsealing;
  if (!message.seal_key.empty()) unsealing = Unsealing{keys, schema::last_chunk_seq(message.size)};
  return [&pool, id = message.id, unsealing](int seq) { return read_on_pool(pool, id, seq, unsealing); };
}

// ---- ChunkCursor ------------------------------------------------------------------------------

ChunkCursor::ChunkCursor(ChunkReader read, std::uint64_t stored_size, std::size_t chunk_size)
    : read_(std::move(read)), stored_size_(stored_size), chunk_size_(std::max<std::size_t>(1, chunk_size)) {}

asio::awaitable<std::string> ChunkCursor::next() {
  std::string data = co_await chunk(next_seq_);
  ++next_seq_;
  offset_ += data.size();
  co_return data;
}

asio::awaitable<std::string> ChunkCursor::last_bytes() {
  if (stored_size_ == 0) co_return std::string();
  const std::uint64_t last = (stored_size_ - 1) / chunk_size_;
  std::string tail = co_await chunk(last);
  if (tail.size() >= 2 || last == 0) co_return tail.substr(tail.size() - std::min<std::size_t>(2, tail.size()));
  // The last chunk holds one byte: the one before it ends the chunk before.
  std::string before = co_await chunk(last - 1);
  co_return before.back() + tail;
}

// Chunk `seq`, which must hold exactly what the stored size says: a full chunk, or the rest.
asio::awaitable<std::string> ChunkCursor::chunk(std::uint64_t seq) {
  const std::uint64_t start = seq * chunk_size_;
  const std::uint64_t expected = start < stored_size_ ? std::min<std::uint64_t>(chunk_size_, stored_size_ - start) : 0;
  std::optional<std::string> data;
  try {
    std::optional<std::string> read = co_await read_(static_cast<int>(seq));
    data = std::move(read);
  } catch (const std::exception& e) {
    throw BodyUnreadable(std::string("cannot read the queued message: ") + e.what());
  }
  if (!data || data->size() != expected) {
    throw BodyUnreadable("the queued message is not its recorded size of " + std::to_string(stored_size_) +
                         " bytes: chunk " + std::to_string(seq) + " holds " +
                         (data ? std::to_string(data->size()) + " bytes" : std::string("nothing")));
  }
  co_return std::move(*data);
}

// ---- QueuedBody -------------------------------------------------------------------------------

asio::awaitable<std::unique_ptr<QueuedBody>> QueuedBody::open(ChunkReader read, std::uint64_t stored_size,
                                                              const Upstream& upstream, std::size_t chunk_size,
                                                              HeaderSigner signer) {
  std::unique_ptr<QueuedBody> body{new QueuedBody(ChunkCursor(std::move(read), stored_size, chunk_size))};
  co_await body->prepare(upstream, signer);
  co_return body;
}

asio::awaitable<void> QueuedBody::prepare(const Upstream& upstream, const HeaderSigner& signer) {
  if (!rewrites_headers(upstream) && !signer) {
    if (!cursor_.at_end()) {
      std::string first = co_await cursor_.next();
      head_ = std::move(first);
    }
  } else {
    Head head = co_await read_head(cursor_);
    if (head.header_end == npos) {
      throw BodyUnreadable("the header section of the queued message does not end within its first " +
                           std::to_string(kMaxHeaderRead / 1024) + " KiB: it cannot be rewritten or signed");
    }
    const std::string_view stored = std::string_view(head.bytes).substr(0, head.header_end);
    std::string section = rewrites_headers(upstream) ? rewrite_header_section(stored, upstream) : std::string(stored);
    // The signatures cover the header section exactly as it goes out: after the rewrites.
    if (signer) head_ = signer(section);
    head_ += section;
    head_.append(head.bytes, head.header_end);
  }
  if (cursor_.at_end()) {
    size_as_sent_ = smtp_client::DotStuffer::size_as_sent(head_);
    co_return;
  }
  // More follows the first piece, so the message goes out ending as it is stored: after a
  // rewritten header section come the empty line and the body, unchanged.
  const std::string last = co_await cursor_.last_bytes();
  const std::uint64_t size = head_.size() + (cursor_.stored_size() - cursor_.offset());
  size_as_sent_ = size + (last == "\r\n" ? 0 : 2);  // the CRLF the stuffer adds (DotStuffer::finish)
}

asio::awaitable<std::string> QueuedBody::next_piece() {
  if (!head_.empty()) co_return std::exchange(head_, std::string());
  std::string chunk = co_await cursor_.next();
  co_return chunk;
}

asio::awaitable<std::string> read_header_section(ChunkReader read, std::uint64_t stored_size, std::size_t chunk_size) {
  ChunkCursor cursor(std::move(read), stored_size, chunk_size);
  Head head = co_await read_head(cursor);
  if (head.header_end == npos) {
    // Longer than intake takes (a message queued by an older release): its complete lines.
    const std::size_t crlf = head.bytes.rfind("\r\n");
    head.header_end = crlf == npos ? 0 : crlf + 2;
  }
  head.bytes.resize(head.header_end);
  co_return std::move(head.bytes);
}

}  // namespace postern::delivery
