// UpstreamSession streaming a message from its BodySource to a scripted SMTP server on loopback:
// the pieces go out dot-stuffed with SIZE= announced up front, and a source that fails in the
// middle of the body makes the session hang up before the end of data, so the upstream never
// takes a truncated message.
#include "server/delivery/upstream_session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace postern::delivery {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// What the scripted server saw of one transaction.
struct Seen {
  std::string mail;         // the MAIL FROM line
  std::string data;         // everything after the 354, as it came on the wire
  bool end_of_data = false;  // "\r\n.\r\n" came
};

// An SMTP server on a loopback port that takes one connection in a thread of its own: 220,
// EHLO (SIZE), MAIL, RCPT, DATA with 354, then the data until the end of data (250) or until
// the client hangs up.
class ScriptedServer {
 public:
  ScriptedServer() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() { join(); }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  const Seen& seen() const { return seen_; }  // after join()

  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  void serve() {
    tcp::socket socket{io_};
    acceptor_.accept(socket);
    boost::system::error_code ec;
    asio::streambuf in;
    const auto say = [&](const std::string& text) { asio::write(socket, asio::buffer(text), ec); };
    const auto line = [&] {
      const std::size_t n = asio::read_until(socket, in, "\r\n", ec);
      if (ec) return std::string();
      std::string text(asio::buffers_begin(in.data()), asio::buffers_begin(in.data()) + static_cast<long>(n));
      in.consume(n);
      return text;
    };
    say("220 scripted ESMTP\r\n");
    for (std::string command = line(); !ec; command = line()) {
      if (command.starts_with("EHLO")) say("250-scripted\r\n250 SIZE 100000000\r\n");
      else if (command.starts_with("RCPT")) say("250 2.1.5 Ok\r\n");
      else if (command.starts_with("MAIL")) {
        seen_.mail = command;
        say("250 2.1.0 Ok\r\n");
      }
      else if (command.starts_with("QUIT")) return say("221 2.0.0 Bye\r\n");
      else if (command.starts_with("DATA")) {
        say("354 End data with <CR><LF>.<CR><LF>\r\n");
        const std::size_t n = asio::read_until(socket, in, "\r\n.\r\n", ec);
        seen_.data.assign(asio::buffers_begin(in.data()), asio::buffers_end(in.data()));
        if (ec) return;  // the client hung up in the middle
        seen_.end_of_data = true;
        in.consume(n);
        say("250 2.0.0 Ok: queued\r\n");
      } else {
        say("500 5.5.2 What?\r\n");
      }
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  Seen seen_;
};

// Hands out its pieces, then fails (when told to) instead of giving the next one.
class ScriptedBody final : public BodySource {
 public:
  ScriptedBody(std::vector<std::string> pieces, std::uint64_t size, bool fail_after)
      : pieces_(std::move(pieces)), size_(size), fail_after_(fail_after) {}
  std::uint64_t size_as_sent() const override { return size_; }
  bool finished() const override { return !fail_after_ && next_ == pieces_.size(); }
  asio::awaitable<std::string> next_piece() override {
    if (next_ == pieces_.size()) throw BodyUnreadable("cannot read the queued message: connection lost");
    co_return pieces_[next_++];
  }

 private:
  std::vector<std::string> pieces_;
  std::uint64_t size_;
  bool fail_after_;
  std::size_t next_ = 0;
};

smtp_client::TransactionResult deliver(std::uint16_t port, BodySource& body) {
  Upstream upstream;
  upstream.name = "scripted";
  upstream.host = "127.0.0.1";
  upstream.port = port;
  upstream.security = UpstreamSecurity::None;
  upstream.timeout_seconds = 10;
  asio::io_context io;
  auto session = std::make_shared<UpstreamSession>(io.get_executor(), upstream, "relay.test", nullptr);
  OutboundMessage message;
  message.sender = "alice@example.com";
  message.recipients = {"bob@example.org", "carol@example.net"};
  message.body = &body;
  auto done = asio::co_spawn(io, [session, message]() -> asio::awaitable<smtp_client::TransactionResult> {
    smtp_client::TransactionResult result = co_await session->deliver(message);
    co_await session->quit();
    co_return result;
  }, asio::use_future);
  io.run();
  return done.get();
}

TEST(UpstreamSessionBody, PiecesGoOutDotStuffedWithTheSizeAnnouncedFirst) {
  ScriptedServer server;
  const std::string message = "Subject: hi\r\n\r\nfirst\r\n.dot at a piece's start\r\nlast line";
  ScriptedBody body({"Subject: hi\r\n\r\nfirst\r\n", ".dot at a piece's start\r\n", "last line"},
                    message.size() + 2, false);
  const smtp_client::TransactionResult result = deliver(server.port(), body);
  server.join();
  ASSERT_EQ(result.recipients.size(), 2u);
  EXPECT_EQ(result.recipients[0].reply.code, 250);
  EXPECT_EQ(result.error, "");
  EXPECT_EQ(server.seen().mail, "MAIL FROM:<alice@example.com> SIZE=" + std::to_string(message.size() + 2) + "\r\n");
  EXPECT_EQ(server.seen().data, "Subject: hi\r\n\r\nfirst\r\n..dot at a piece's start\r\nlast line\r\n.\r\n");
}

TEST(UpstreamSessionBody, ASourceThatFailsMidBodyHangsUpBeforeTheEndOfData) {
  ScriptedServer server;
  ScriptedBody body({"Subject: hi\r\n\r\n", "part of the body\r\n"}, 1000, true);
  const smtp_client::TransactionResult result = deliver(server.port(), body);
  server.join();
  EXPECT_FALSE(server.seen().end_of_data);
  EXPECT_EQ(server.seen().data, "Subject: hi\r\n\r\npart of the body\r\n");
  ASSERT_EQ(result.recipients.size(), 2u);
  for (const auto& r : result.recipients) {
    EXPECT_EQ(r.outcome, smtp_client::Outcome::Temporary);
    EXPECT_EQ(r.reply.one_line(), "451 4.3.0 cannot read the queued message: connection lost");
  }
  EXPECT_EQ(result.error, "cannot read the queued message: connection lost");
  EXPECT_FALSE(result.stale);
}

}  // namespace
}  // namespace postern::delivery
