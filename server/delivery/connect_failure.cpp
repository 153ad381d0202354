// See connect_failure.hpp.
#include "server/delivery/connect_failure.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern::delivery {
namespace {

constexpr int kProbeMilliseconds = 1000;

// 0 when the connect succeeds, else its errno.
int try_connect(const addrinfo& address) {
  const int fd = ::socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, address.ai_protocol);
  if (fd < 0) return errno;
  int error = 0;
  if (::connect(fd, address.ai_addr, address.ai_addrlen) != 0) {
    error = errno;
    if (error == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, kProbeMilliseconds) == 1) {
        socklen_t length = sizeof error;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
      } else {
        error = ETIMEDOUT;
      }
    }
  }
  ::close(fd);
  return error;
}

}  // namespace

std::optional<std::string> connect_failure(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return std::nullopt;
  int error = 0;
  for (const addrinfo* address = found; address != nullptr; address = address->ai_next) {
    error = try_connect(*address);
    if (error == 0) break;
  }
  ::freeaddrinfo(found);
  if (error == 0) return std::nullopt;
  return std::string(std::strerror(error));
}

}  // namespace postern::delivery
