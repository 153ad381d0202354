// Why a TCP connection to host:port fails, for libraries that do not say: librabbitmq 0.11
// reports a refused or unreachable broker only as "a socket error occurred" (it drops the
// socket's SO_ERROR). After such a failure one more connect, bounded by a second, finds the
// reason an operator needs: "Connection refused", "No route to host", "Network is unreachable".
//
//   if (status == AMQP_STATUS_SOCKET_ERROR) why = connect_failure(host, port).value_or(why);
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace postern::delivery {

// The error of a fresh connect to each address of host:port (the last one's), or nothing when
// one connects now or no reason is found.
std::optional<std::string> connect_failure(const std::string& host, std::uint16_t port);

}  // namespace postern::delivery
