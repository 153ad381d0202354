#include "server/config/read_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace postern::config::detail {

// POSIX calls rather than std::ifstream, which does not promise to leave errno meaningful.
std::string read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category());
  std::string contents;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;  // close() may overwrite it
      ::close(fd);
      throw std::system_error(error, std::generic_category());
    }
    contents.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return contents;
}

std::string read_secret_file(const Section& section, std::string_view key,
                             const std::string& path) {
  std::string contents;
  try {
    contents = read_file(path);
  } catch (const std::system_error& e) {
    section.fail_at(key, "cannot read " + path + ": " + e.code().message());
  }
  while (!contents.empty() && (contents.back() == '\n' || contents.back() == '\r')) {
    contents.pop_back();
  }
  if (contents.empty()) section.fail_at(key, path + " is empty");
  return contents;
}

}  // namespace postern::config::detail
