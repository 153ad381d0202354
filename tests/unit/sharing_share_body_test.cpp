// A share mail as delivery sends it: the stored chunks through ShareMailWriter, piece by piece,
// byte for byte the writer's mail for the whole message, its size known before the first piece,
// and the same on every attempt.
#include "server/sharing/share_body.hpp"
#include "server/sharing/share_seed.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <memory>
#include <string>

namespace postern::sharing {
namespace {

namespace asio = boost::asio;

// Chunks of kChunkSize from a message held in memory.
delivery::ChunkReader chunks_of(std::shared_ptr<const std::string> message) {
  return [message](int seq) -> asio::awaitable<std::optional<std::string>> {
    const std::size_t start = static_cast<std::size_t>(seq) * schema::kChunkSize;
    if (start >= message->size()) co_return std::nullopt;
    co_return message->substr(start, schema::kChunkSize);
  };
}

// Every piece of the body, joined.
std::string drain(ShareBody& body) {
  asio::io_context io;
  auto future = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<std::string> {
        std::string all;
        while (!body.finished()) {
          std::string piece = co_await body.next_piece();
          all += piece;
        }
        co_return all;
      },
      asio::use_future);
  io.run();
  return future.get();
}

std::string sample_message(std::size_t size) {
  std::string message = "Subject: secret\r\n\r\n";
  while (message.size() < size) message += "line " + std::to_string(message.size()) + "\r\n";
  return message;
}

TEST(ShareBody, StreamsTheWritersMailForTheWholeMessageWithItsSizeKnownFirst) {
  for (std::size_t size : {std::size_t{40}, 3 * schema::kChunkSize + 17}) {
    auto message = std::make_shared<const std::string>(sample_message(size));
    const shares::Seed group = recipient_seed(std::string(32, '\x01'), "bob@proxy.example");
    const auto fields = share_mail_fields(group, 2, {shares::Scheme::Shamir, 2, 3}, "alice@example.com",
                                          "bob@mail-b.example", 1'700'000'000, "relay.example");
    ShareBody body{chunks_of(message), message->size(), fields, group};
    const std::uint64_t announced = body.size_as_sent();
    const std::string mail = drain(body);
    shares::ShareMailWriter whole{fields, message->size(), group};
    std::string expected = whole.write(*message);
    expected += whole.finish();
    EXPECT_EQ(mail, expected) << size;
    EXPECT_EQ(announced, smtp_client::DotStuffer::size_as_sent(mail)) << size;
    EXPECT_EQ(mail.find("Subject: secret"), std::string::npos);
    // The next attempt sends the same mail.
    ShareBody again{chunks_of(message), message->size(), fields, group};
    EXPECT_EQ(drain(again), mail);
  }
}

TEST(ShareBody, EachRecipientHasADrawOfItsOwn) {
  const std::string seed(32, '\x01');
  EXPECT_NE(recipient_seed(seed, "bob@proxy.example"), recipient_seed(seed, "carol@proxy.example"));
  EXPECT_EQ(recipient_seed(seed, "bob@proxy.example"), recipient_seed(seed, "bob@proxy.example"));
  EXPECT_THROW(recipient_seed("short", "bob@proxy.example"), std::invalid_argument);
}

TEST(ShareBody, AMapWithoutThresholdIsXorNOfNAndWithOneShamir) {
  schema::ShareMap map;
  map.recipient = "bob@proxy.example";
  map.destinations = {{"bob@a.example", "provider-a"}, {"bob@b.example", "provider-b"}, {"bob@c.example", "provider-c"}};
  map.envelope_from["provider-b"] = "account@b.example";
  auto planned = plan_shares(2, map);
  EXPECT_EQ(planned.position, 2);
  EXPECT_EQ(planned.scheme, "xor");
  EXPECT_EQ(planned.threshold, 3);
  ASSERT_EQ(planned.targets.size(), 3u);
  EXPECT_EQ(planned.targets[1].envelope_from, "account@b.example");
  EXPECT_EQ(planned.targets[2].envelope_from, "");
  map.threshold = 2;
  planned = plan_shares(2, map);
  EXPECT_EQ(planned.scheme, "shamir");
  EXPECT_EQ(planned.threshold, 2);
}

}  // namespace
}  // namespace postern::sharing
