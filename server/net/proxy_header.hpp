// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that a load
// balancer sends before the client's first byte, parsed without I/O: the reader feeds the bytes
// received so far and learns whether the header is complete, how many bytes it needs in all
// before it can go on, or why the bytes are not a header. It never asks for a byte beyond the
// header, so what follows (SMTP, a TLS ClientHello) stays in the socket.
//
//   std::string bytes;
//   for (;;) {
//     auto result = parse_proxy_header(bytes);
//     if (auto* need = std::get_if<ProxyNeedMore>(&result)) { read need->total - bytes.size() more; continue; }
//     ...  // ProxyHeader or ProxyHeaderError
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace postern::net {

// The header is not complete: the bytes must be `total` long before parsing again.
struct ProxyNeedMore {
  std::size_t total;
};

struct ProxyHeader {
  enum class Command {
    Proxy,  // a relayed connection
    Local,  // v2: the balancer's own connection (a health check)
  };
  Command command = Command::Proxy;
  // The client's address as text ("192.0.2.1", "2001:db8::1"; IPv4-mapped IPv6 as IPv4) and
  // port; no address for LOCAL, v1 UNKNOWN and v2 families other than TCP over IPv4 and IPv6:
  // the connection then keeps the balancer's address.
  std::optional<std::string> source_address;
  std::uint16_t source_port = 0;
  std::size_t length = 0;  // the header's bytes, all consumed
};

struct ProxyHeaderError {
  std::string reason;  // for the log, e.g. "bad v2 signature"
};

using ProxyParse = std::variant<ProxyNeedMore, ProxyHeader, ProxyHeaderError>;

// `bytes` must start at the connection's first byte and hold nothing past the size the last
// ProxyNeedMore asked for.
ProxyParse parse_proxy_header(std::string_view bytes);

constexpr std::size_t kProxyV1MaxLength = 107;  // "PROXY UNKNOWN " + two full IPv6 addresses, two ports, CRLF

}  // namespace postern::net
