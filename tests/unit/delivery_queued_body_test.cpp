// The queued message as delivery reads it: chunk by chunk, the header section rewritten, the
// size as sent known before the first piece, and every way the stored chunks can be wrong
// caught before a truncated message could go out. The chunks come from memory here, in sizes
// from one byte up, so that every boundary (an empty line split across chunks, a last chunk of
// one byte) is crossed.
#include "server/delivery/queued_body.hpp"

#include "server/delivery/rewrite.hpp"
#include "server/smtp_client/dot_stuffer.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace postern::delivery {
namespace {

namespace asio = boost::asio;

template <typename T>
T run(asio::awaitable<T> task) {
  asio::io_context io;
  auto future = asio::co_spawn(io, std::move(task), asio::use_future);
  io.run();
  return future.get();
}

// How the stored chunks behave: what the test reads from them, and how they fail.
struct Store {
  std::string message;
  std::size_t chunk_size = 7;
  int missing_from = -1;      // chunks from this one on are gone (the message was deleted)
  int failing = -1;           // reading this chunk throws (the database went away)
  std::vector<int> reads;     // every chunk read, in order
};

asio::awaitable<std::optional<std::string>> read_stored(std::shared_ptr<Store> store, int seq) {
  store->reads.push_back(seq);
  if (seq == store->failing) throw std::runtime_error("connection lost");
  const std::size_t start = static_cast<std::size_t>(seq) * store->chunk_size;
  if ((store->missing_from >= 0 && seq >= store->missing_from) || start >= store->message.size()) {
    co_return std::nullopt;
  }
  co_return store->message.substr(start, store->chunk_size);
}

ChunkReader chunks_of(const std::shared_ptr<Store>& store) {
  return [store](int seq) { return read_stored(store, seq); };
}

std::shared_ptr<Store> stored(std::string message, std::size_t chunk_size) {
  auto store = std::make_shared<Store>();
  store->message = std::move(message);
  store->chunk_size = chunk_size;
  return store;
}

Upstream rewriting(std::string return_path, std::string reply_to) {
  Upstream u;
  u.rewrite_return_path = std::move(return_path);
  u.rewrite_reply_to = std::move(reply_to);
  return u;
}

struct Delivered {
  std::uint64_t size_as_sent = 0;
  std::vector<int> reads_before_first_piece;
  std::string bytes;
  std::size_t largest_piece = 0;
};

asio::awaitable<Delivered> deliver(std::shared_ptr<Store> store, Upstream upstream,
                                   QueuedBody::HeaderSigner signer = {}) {
  // Locals, not temporaries, in awaited calls: GCC 12 may destroy such temporaries twice.
  ChunkReader chunks = chunks_of(store);
  auto body = co_await QueuedBody::open(std::move(chunks), store->message.size(), upstream, store->chunk_size,
                                        std::move(signer));
  Delivered out;
  out.size_as_sent = body->size_as_sent();
  out.reads_before_first_piece = store->reads;
  while (!body->finished()) {
    std::string piece = co_await body->next_piece();
    out.largest_piece = std::max(out.largest_piece, piece.size());
    out.bytes += piece;
  }
  co_return out;
}

const std::string kBody = "Body line\r\n.dot\r\nReply-To: in-the-body@example.com\r\n\r\nend\r\n";

TEST(QueuedBody, PiecesAndSizeAreThoseOfTheRewrittenMessageAtEveryChunkSize) {
  const std::string messages[] = {
      "",
      "Subject: hi",
      "Subject: hi\r\n",
      "Subject: hi\r\n\r\n",
      "\r\n" + kBody,
      "Return-Path: <old@example.com>\r\nReply-To: a@example.com,\r\n b@example.com\r\nSubject: hi\r\n\r\n" + kBody,
      "From: a@example.com\r\nSubject: no final CRLF\r\n\r\nlast line",
      "From: a@example.com\r\n\r\nends in CR\r",
      "From: a@example.com\r\n\r\nX\n",
  };
  const Upstream upstreams[] = {Upstream{}, rewriting("bounces@example.com", ""), rewriting("", "s@example.com"),
                                rewriting("bounces@example.com", "s@example.com")};
  for (const std::size_t chunk_size : {1u, 2u, 3u, 5u, 16u, 64u, 4096u}) {
    for (const std::string& message : messages) {
      for (const Upstream& upstream : upstreams) {
        SCOPED_TRACE("chunk size " + std::to_string(chunk_size) + ", return path '" + upstream.rewrite_return_path +
                     "', reply-to '" + upstream.rewrite_reply_to + "': " + message);
        const std::string expected = apply_rewrites(message, upstream);
        const Delivered got = run(deliver(stored(message, chunk_size), upstream));
        EXPECT_EQ(got.bytes, expected);
        EXPECT_EQ(got.size_as_sent, smtp_client::DotStuffer::size_as_sent(expected));
      }
    }
  }
}

// The signer sees the header section as it goes out (after the rewrites, without the empty line),
// and what it returns goes first; the size as sent counts it.
TEST(QueuedBody, TheSignerSignsTheRewrittenHeaderSectionAndItsFieldGoesFirst) {
  const std::string message = "From: a@example.com\r\nReply-To: old@example.com\r\n\r\n" + kBody;
  const Upstream upstream = rewriting("", "new@example.com");
  for (const std::size_t chunk_size : {1u, 5u, 4096u}) {
    std::string seen;
    auto signer = [&seen](std::string_view section) {
      seen = section;
      return std::string("DKIM-Signature: test\r\n");
    };
    const Delivered got = run(deliver(stored(message, chunk_size), upstream, signer));
    const std::string rewritten = apply_rewrites(message, upstream);
    EXPECT_EQ(seen, rewritten.substr(0, rewritten.find("\r\n\r\n") + 2));
    EXPECT_EQ(got.bytes, "DKIM-Signature: test\r\n" + rewritten);
    EXPECT_EQ(got.size_as_sent, smtp_client::DotStuffer::size_as_sent(got.bytes));
  }
  // Without rewrites too.
  const Delivered plain = run(deliver(stored(message, 3), Upstream{}, [](std::string_view) {
    return std::string("X-Sig: 1\r\n");
  }));
  EXPECT_EQ(plain.bytes, "X-Sig: 1\r\n" + message);
}

TEST(QueuedBody, A24MiBMessageIsReadAChunkAtATimeAndSizedFromItsEnds) {
  std::string message = "From: a@example.com\r\nReply-To: old@example.com\r\nSubject: big\r\n\r\n";
  while (message.size() < 24u * 1024 * 1024) message += "line of the body " + std::to_string(message.size()) + "\r\n";
  message += "no CRLF at the end";
  auto store = stored(message, schema::kChunkSize);
  const Upstream upstream = rewriting("bounces@example.com", "support@example.com");
  const Delivered got = run(deliver(store, upstream));
  // Before the first piece: the first chunk (it holds the header section) and the last one.
  const int last = static_cast<int>((message.size() - 1) / schema::kChunkSize);
  EXPECT_EQ(got.reads_before_first_piece, (std::vector<int>{0, last}));
  const std::string expected = apply_rewrites(message, upstream);
  EXPECT_EQ(got.size_as_sent, expected.size() + 2);
  EXPECT_TRUE(got.bytes == expected);  // not EXPECT_EQ: no 24 MiB diff on failure
  EXPECT_LE(got.largest_piece, schema::kChunkSize + 128);
  EXPECT_EQ(store->reads.size(), static_cast<std::size_t>(last) + 2);  // each chunk once, the last twice
}

TEST(QueuedBody, AHeaderSectionAcrossChunksIsRewrittenWhole) {
  std::string message = "Subject: first\r\n";
  for (int i = 0; i < 40; ++i) message += "X-Filler-" + std::to_string(i) + ": " + std::string(100, 'f') + "\r\n";
  message += "Reply-To: old@example.com\r\n\r\n" + kBody;
  const Upstream upstream = rewriting("", "new@example.com");
  const Delivered got = run(deliver(stored(message, 1000), upstream));
  EXPECT_EQ(got.bytes, apply_rewrites(message, upstream));
  EXPECT_EQ(got.reads_before_first_piece, (std::vector<int>{0, 1, 2, 3, 4}));  // through the empty line
}

TEST(QueuedBody, AMessageWhoseLastChunkHoldsOneByteIsSizedFromTheTwoLastChunks) {
  // 1001 bytes in chunks of 500: the final CRLF's CR ends chunk 1, its LF is all of chunk 2.
  const std::string message = "Subject: hi\r\n\r\n" + std::string(1001 - 15 - 2, 'x') + "\r\n";
  ASSERT_EQ(message.size(), 1001u);
  const Delivered got = run(deliver(stored(message, 500), Upstream{}));
  EXPECT_EQ(got.size_as_sent, message.size());  // ends with CRLF: nothing added
  EXPECT_EQ(got.reads_before_first_piece, (std::vector<int>{0, 2, 1}));
}

TEST(QueuedBody, AChunkThatIsGoneMidBodyFailsThePieceNotTheBytesBefore) {
  auto store = stored("Subject: hi\r\n\r\n" + std::string(100, 'x'), 10);
  store->missing_from = 5;
  const auto attempt = [&]() -> asio::awaitable<std::string> {
    const Upstream none;
    ChunkReader chunks = chunks_of(store);
    auto body = co_await QueuedBody::open(std::move(chunks), store->message.size(), none, store->chunk_size);
    std::string got;
    try {
      while (!body->finished()) {
        const std::string piece = co_await body->next_piece();
        got += piece;
      }
    } catch (const BodyUnreadable& e) {
      co_return got + " | " + e.what();
    }
    co_return got + " | finished";
  };
  // The last chunk (for the size) is gone too: open() fails already.
  EXPECT_THROW(run(attempt()), BodyUnreadable);
  store->reads.clear();
  store->missing_from = -1;
  store->failing = 6;
  EXPECT_EQ(run(attempt()),
            store->message.substr(0, 60) + " | cannot read the queued message: connection lost");
}

TEST(QueuedBody, AChunkShorterThanRecordedIsCaught) {
  auto store = stored("Subject: hi\r\n\r\nbody\r\n", 8);
  const auto open_with_size = [&](std::uint64_t size) -> asio::awaitable<bool> {
    const Upstream none;
    ChunkReader chunks = chunks_of(store);
    auto body = co_await QueuedBody::open(std::move(chunks), size, none, store->chunk_size);
    while (!body->finished()) co_await body->next_piece();
    co_return true;
  };
  try {
    run(open_with_size(store->message.size() + 3));
    FAIL() << "a message shorter than recorded went out";
  } catch (const BodyUnreadable& e) {
    EXPECT_STREQ(e.what(), "the queued message is not its recorded size of 24 bytes: chunk 2 holds 5 bytes");
  }
  EXPECT_THROW(run(open_with_size(5)), BodyUnreadable);  // longer than recorded: the first chunk is too big
}

TEST(QueuedBody, RewritesNeedTheHeaderSectionToEndWithinTheLimit) {
  std::string message;
  while (message.size() <= kMaxHeaderRead) message += "X-Long: " + std::string(990, 'h') + "\r\n";
  message += "\r\nbody\r\n";
  EXPECT_THROW(run(deliver(stored(message, schema::kChunkSize), rewriting("", "s@example.com"))), BodyUnreadable);
  EXPECT_TRUE(run(deliver(stored(message, schema::kChunkSize), Upstream{})).bytes == message);
}

TEST(QueuedBody, HeaderSectionForTheDsn) {
  const auto header_of = [](std::string message, std::size_t chunk_size) {
    auto store = stored(std::move(message), chunk_size);
    return run(read_header_section(chunks_of(store), store->message.size(), chunk_size));
  };
  EXPECT_EQ(header_of("From: a@example.com\r\nSubject: hi\r\n\r\nSECRET BODY\r\n", 3),
            "From: a@example.com\r\nSubject: hi\r\n");
  EXPECT_EQ(header_of("Subject: only headers", 4), "Subject: only headers");
  EXPECT_EQ(header_of("\r\nbody", 4), "");
  EXPECT_EQ(header_of("", 4), "");
  std::string endless;
  while (endless.size() <= kMaxHeaderRead + 5000) endless += "X-Long: " + std::string(990, 'h') + "\r\n";
  const std::string cut = header_of(endless + "\r\nbody\r\n", schema::kChunkSize);
  EXPECT_GE(cut.size(), kMaxHeaderRead - 1000);
  EXPECT_LE(cut.size(), kMaxHeaderRead);
  EXPECT_TRUE(cut.ends_with("h\r\n"));
  EXPECT_TRUE(endless.starts_with(cut));
}

}  // namespace
}  // namespace postern::delivery
