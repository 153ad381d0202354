// Reads the PROXY protocol header (proxy_header.hpp) at the start of an accepted connection,
// exactly its bytes: v1 a byte at a time up to its CRLF, v2 its 16 fixed bytes then the length
// they declare. What follows, SMTP or a TLS handshake, stays in the socket for the session.
#pragma once

#include "server/net/proxy_header.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace postern::net {

struct ProxyRead {
  std::optional<ProxyHeader> header;  // nullopt: refused, `refusal` says why
  const char* refusal = "";           // the reason label of the metric: bad_header, timeout, closed
  std::string detail;                 // for the log
};

// The socket's executor must be a strand; `limit` bounds the whole header.
boost::asio::awaitable<ProxyRead> read_proxy_header(boost::asio::ip::tcp::socket& socket, std::chrono::seconds limit);

}  // namespace postern::net
