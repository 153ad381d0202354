// See secret_file.hpp.
#include "secret_file.hpp"

#include "postern/schema/errors.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern::mailadmin {

std::string read_secret_file(const std::string& path) {
  using schema::InvalidInput;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InvalidInput("cannot read " + path + ": " + std::strerror(errno));
  std::string contents;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;  // close() may overwrite it
      ::close(fd);
      throw InvalidInput("cannot read " + path + ": " + std::strerror(error));
    }
    contents.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  while (!contents.empty() && (contents.back() == '\n' || contents.back() == '\r')) contents.pop_back();
  if (contents.empty()) throw InvalidInput(path + " is empty");
  if (contents.find('\0') != std::string::npos) throw InvalidInput(path + " holds a NUL byte");
  return contents;
}

}  // namespace postern::mailadmin
