// The Transport's deadlines, abort and TLS upgrade, over real loopback sockets: one side is a
// Transport, the other a plain socket (or a second Transport for TLS) in the same io_context.
#include "server/net/transport.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace asio = boost::asio;
using asio::ip::tcp;
using postern::net::Transport;
using namespace std::chrono_literals;

namespace {

// A connected pair on loopback: `ours` is wrapped in a Transport by the test, `peer` is the
// other end.
struct SocketPair {
  explicit SocketPair(asio::io_context& io) : ours(io), peer(io) {
    tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
    peer.connect(acceptor.local_endpoint());
    acceptor.accept(ours);
  }
  tcp::socket ours;
  tcp::socket peer;
};

// Runs one coroutine to its end on io and returns its value.
template <typename T>
T run(asio::io_context& io, asio::awaitable<T> task) {
  auto future = asio::co_spawn(io, std::move(task), asio::use_future);
  io.restart();
  io.run();
  return future.get();
}

struct ReadResult {
  std::string data;
  boost::system::error_code ec;
  bool timed_out = false;
};

asio::awaitable<ReadResult> read_once(Transport transport, Transport::Deadline deadline) {
  std::array<char, 256> buffer{};
  ReadResult result;
  std::size_t n = co_await transport.read_some(buffer.data(), buffer.size(), deadline, result.ec);
  result.data.assign(buffer.data(), n);
  result.timed_out = transport.timed_out();
  co_return result;
}

// A self-signed certificate for 127.0.0.1 on a fresh P-256 key, in a server context.
std::shared_ptr<asio::ssl::context> server_context() {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  SSL_CTX_use_certificate(context->native_handle(), cert);
  SSL_CTX_use_PrivateKey(context->native_handle(), key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return context;
}

}  // namespace

TEST(Transport, ReadReturnsWhatThePeerSent) {
  asio::io_context io;
  SocketPair pair{io};
  Transport transport{std::move(pair.ours), nullptr, Transport::Role::Server};
  asio::write(pair.peer, asio::buffer(std::string("EHLO x\r\n")));
  ReadResult result = run(io, read_once(transport, Transport::after(10s)));
  EXPECT_FALSE(result.ec);
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.data, "EHLO x\r\n");
}

TEST(Transport, ReadFromASilentPeerEndsAtItsDeadline) {
  asio::io_context io;
  SocketPair pair{io};
  Transport transport{std::move(pair.ours), nullptr, Transport::Role::Server};
  ReadResult result = run(io, read_once(transport, Transport::after(50ms)));
  EXPECT_TRUE(result.ec);
  EXPECT_TRUE(result.timed_out);
  EXPECT_TRUE(result.data.empty());
  EXPECT_TRUE(transport.is_open());  // a timeout cancels the read, it does not close
}

// The race that a stale expiry comes from: the peer's bytes and the read's deadline become
// ready in the same turn of the event loop (the thread is busy while both happen), so the
// read completes with the expiry already queued behind it. Then, at once, a second read whose
// bytes the peer sends a moment later.
asio::awaitable<ReadResult> read_racing_its_deadline_then_next(Transport transport, tcp::socket& peer) {
  auto executor = co_await asio::this_coro::executor;
  asio::post(executor, [&peer] {
    asio::write(peer, asio::buffer(std::string_view("a")));
    std::this_thread::sleep_for(20ms);  // past the deadline below, on the loop's only thread
  });
  co_await read_once(transport, Transport::after(5ms));
  asio::co_spawn(executor, [&peer]() -> asio::awaitable<void> {
    asio::steady_timer wait{peer.get_executor(), 5ms};
    co_await wait.async_wait(asio::use_awaitable);
    co_await asio::async_write(peer, asio::buffer(std::string_view("b")), asio::use_awaitable);
  }, asio::detached);
  co_return co_await read_once(transport, Transport::after(10s));
}

TEST(Transport, AnExpiryQueuedAfterItsReadFinishedNeverCancelsTheNextRead) {
  asio::io_context io;
  SocketPair pair{io};
  Transport transport{std::move(pair.ours), nullptr, Transport::Role::Server};
  for (int i = 0; i < 5; ++i) {
    ReadResult next = run(io, read_racing_its_deadline_then_next(transport, pair.peer));
    ASSERT_FALSE(next.ec) << "round " << i << ": " << next.ec.message();
    ASSERT_FALSE(next.timed_out) << "round " << i;
    EXPECT_EQ(next.data, "b");
  }
}

TEST(Transport, WriteToAPeerThatNeverReadsEndsAtItsDeadline) {
  asio::io_context io;
  SocketPair pair{io};
  Transport transport{std::move(pair.ours), nullptr, Transport::Role::Server};
  const std::string big(64 * 1024 * 1024, 'x');  // far more than the socket buffers hold
  auto ec = run(io, transport.write(big, Transport::after(100ms)));
  EXPECT_TRUE(ec);
  EXPECT_TRUE(transport.timed_out());
}

TEST(Transport, AbortCancelsThePendingReadAndLaterReadsButNotAFarewellWrite) {
  asio::io_context io;
  SocketPair pair{io};
  Transport transport{std::move(pair.ours), nullptr, Transport::Role::Server};
  auto future = asio::co_spawn(io, read_once(transport, Transport::after(10s)), asio::use_future);
  io.run_for(20ms);  // the read is now waiting
  transport.abort();
  io.restart();
  io.run();
  ReadResult aborted = future.get();
  EXPECT_TRUE(aborted.ec);
  EXPECT_FALSE(aborted.timed_out);
  EXPECT_TRUE(transport.aborted());

  asio::write(pair.peer, asio::buffer(std::string("late")));
  ReadResult later = run(io, read_once(transport, Transport::after(10s)));
  EXPECT_TRUE(later.ec);
  EXPECT_TRUE(later.data.empty());

  auto ec = run(io, transport.write("421 4.3.2 Service shutting down\r\n", Transport::after(10s)));
  EXPECT_FALSE(ec);
  std::array<char, 64> buffer{};
  std::size_t n = pair.peer.read_some(asio::buffer(buffer));
  EXPECT_EQ(std::string(buffer.data(), n), "421 4.3.2 Service shutting down\r\n");
}

TEST(Transport, UpgradesToTlsMidStreamAndCarriesDataThroughIt) {
  // The STARTTLS shape: plaintext first, then both sides hand over to TLS on the same socket.
  asio::io_context io;
  SocketPair pair{io};
  Transport server{std::move(pair.ours), server_context(), Transport::Role::Server};
  auto client_tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  client_tls->set_verify_mode(asio::ssl::verify_none);
  Transport client{std::move(pair.peer), client_tls, Transport::Role::Client};

  EXPECT_FALSE(run(io, client.write("STARTTLS\r\n", Transport::after(10s))));
  EXPECT_EQ(run(io, read_once(server, Transport::after(10s))).data, "STARTTLS\r\n");
  EXPECT_FALSE(server.encrypted());

  auto server_side = asio::co_spawn(io, server.handshake(Transport::after(10s)), asio::use_future);
  auto client_side = asio::co_spawn(io, client.handshake(Transport::after(10s)), asio::use_future);
  io.restart();
  io.run();
  EXPECT_FALSE(server_side.get());
  EXPECT_FALSE(client_side.get());
  EXPECT_TRUE(server.encrypted());
  EXPECT_TRUE(client.encrypted());
  EXPECT_FALSE(server.tls_version().empty());
  EXPECT_FALSE(server.tls_cipher().empty());

  EXPECT_FALSE(run(io, client.write("EHLO secret\r\n", Transport::after(10s))));
  EXPECT_EQ(run(io, read_once(server, Transport::after(10s))).data, "EHLO secret\r\n");
}

TEST(Transport, HandshakeWithoutAContextFailsAtOnce) {
  asio::io_context io;
  SocketPair pair{io};
  Transport transport{std::move(pair.ours), nullptr, Transport::Role::Server};
  EXPECT_TRUE(run(io, transport.handshake(Transport::after(10s))));
  EXPECT_FALSE(transport.encrypted());
}

TEST(Transport, ConnectNamesTheAddressThatRefused) {
  asio::io_context io;
  std::uint16_t port;
  {
    tcp::acceptor closed{io, {asio::ip::make_address("127.0.0.1"), 0}};
    port = closed.local_endpoint().port();
  }  // nothing listens there any more
  Transport transport{io.get_executor(), nullptr};
  std::string error = run(io, transport.connect("127.0.0.1", port, Transport::after(10s)));
  EXPECT_EQ(error.rfind("connect to 127.0.0.1:" + std::to_string(port) + " failed: ", 0), 0u) << error;
  EXPECT_FALSE(transport.resolve_failed());
  EXPECT_FALSE(transport.is_open());
}

TEST(Transport, ConnectReachesAListenerAndKnowsItsPeer) {
  asio::io_context io;
  tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
  Transport transport{io.get_executor(), nullptr};
  std::string error = run(io, transport.connect("127.0.0.1", acceptor.local_endpoint().port(), Transport::after(10s)));
  EXPECT_EQ(error, "");
  EXPECT_TRUE(transport.is_open());
  EXPECT_EQ(transport.peer_address(), "127.0.0.1");
  EXPECT_TRUE(transport.peer_is_loopback());
}
