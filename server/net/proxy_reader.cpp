// See proxy_reader.hpp.
#include "server/net/proxy_reader.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <variant>

namespace postern::net {
namespace asio = boost::asio;

asio::awaitable<ProxyRead> read_proxy_header(asio::ip::tcp::socket& socket, std::chrono::seconds limit) {
  // The deadline cancels the pending read, which then fails. Its handler may run after this
  // frame is gone (a cancelled wait still completes), so it touches the socket only before
  // `finished`.
  struct DeadlineState {
    bool finished = false;
    bool timed_out = false;
  };
  auto state = std::make_shared<DeadlineState>();
  asio::steady_timer deadline{socket.get_executor(), limit};
  deadline.async_wait([&socket, state](const boost::system::error_code& ec) {
    if (ec || state->finished) return;
    state->timed_out = true;
    boost::system::error_code ignored;
    socket.cancel(ignored);
  });
  std::string bytes;
  ProxyRead read;
  for (;;) {
    ProxyParse parsed = parse_proxy_header(bytes);
    if (auto* header = std::get_if<ProxyHeader>(&parsed)) {
      read.header = std::move(*header);
      break;
    }
    if (auto* error = std::get_if<ProxyHeaderError>(&parsed)) {
      read.refusal = "bad_header";
      read.detail = error->reason;
      break;
    }
    const std::size_t have = bytes.size();
    bytes.resize(std::get<ProxyNeedMore>(parsed).total);
    boost::system::error_code ec;
    auto wanted = asio::buffer(bytes.data() + have, bytes.size() - have);
    co_await asio::async_read(socket, wanted, asio::redirect_error(asio::use_awaitable, ec));
    if (state->timed_out) {
      read.refusal = "timeout";
      read.detail = "no complete PROXY header in time";
      break;
    }
    if (ec) {
      read.refusal = "closed";
      read.detail = ec == asio::error::eof ? "closed before a complete PROXY header" : ec.message();
      break;
    }
  }
  state->finished = true;
  deadline.cancel();
  co_return read;
}

}  // namespace postern::net
