// A message made at delivery, signed: read through once for its header section and body hash,
// made again and sent with the signature fields first, in pieces of any size.
#include "server/delivery/signed_body.hpp"

#include "dkim/canonical.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

namespace postern::delivery {
namespace {

namespace asio = boost::asio;

struct Sent {
  std::uint64_t size_as_sent = 0;
  std::string bytes;
};

asio::awaitable<Sent> send(OpenBody open, SignatureFields fields) {
  std::unique_ptr<BodySource> body = co_await signed_body(std::move(open), std::move(fields));
  Sent sent;
  sent.size_as_sent = body->size_as_sent();
  while (!body->finished()) {
    std::string piece = co_await body->next_piece();
    sent.bytes += piece;
  }
  co_return sent;
}

Sent run(OpenBody open, SignatureFields fields) {
  asio::io_context io;
  auto future = asio::co_spawn(io, send(std::move(open), std::move(fields)), asio::use_future);
  io.run();
  return future.get();
}

asio::awaitable<std::unique_ptr<BodySource>> text_body(std::string_view text, std::size_t piece_size) {
  co_return std::make_unique<TextBody>(text, piece_size);
}

TEST(SignedBody, SignsTheHeaderSectionAndBodyHashAtEveryPieceSize) {
  const std::string message = "From: a@example.com\r\nSubject: s\r\n\r\nbody  line \r\n\r\n\r\n";
  for (const std::size_t piece_size : {1u, 2u, 3u, 7u, 4096u}) {
    int opened = 0;
    OpenBody open = [&] {
      ++opened;
      return text_body(message, piece_size);
    };
    std::string seen_section, seen_hash;
    SignatureFields fields = [&](std::string_view section, std::string_view body_hash) {
      seen_section = section;
      seen_hash = body_hash;
      return std::string("DKIM-Signature: x\r\n");
    };
    const Sent sent = run(open, fields);
    EXPECT_EQ(opened, 2);
    EXPECT_EQ(seen_section, "From: a@example.com\r\nSubject: s\r\n");
    EXPECT_EQ(seen_hash, dkim::message_body_hash(message));
    EXPECT_EQ(sent.bytes, "DKIM-Signature: x\r\n" + message);
    EXPECT_EQ(sent.size_as_sent, smtp_client::DotStuffer::size_as_sent(sent.bytes));
  }
}

TEST(SignedBody, NoFieldsSendsTheMessageAsItIs) {
  const std::string message = "From: a@example.com\r\n\r\nhi\r\n";
  const Sent sent = run([&] { return text_body(message, 5); },
                        [](std::string_view, std::string_view) { return std::string(); });
  EXPECT_EQ(sent.bytes, message);
}

}  // namespace
}  // namespace postern::delivery
