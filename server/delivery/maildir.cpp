// See maildir.hpp.
#include "server/delivery/maildir.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <random>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace postern::delivery {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void fsync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) fail("cannot open " + path);
  if (::fsync(fd) != 0) {
    ::close(fd);
    fail("cannot fsync " + path);
  }
  ::close(fd);
}

// Maildir unique names: time, process, a counter and randomness, host.
std::string unique_name() {
  static std::atomic<unsigned long> counter{0};
  static thread_local std::mt19937_64 random{std::random_device{}()};
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  return std::to_string(micros / 1000000) + ".M" + std::to_string(micros % 1000000) + "P" +
         std::to_string(getpid()) + "Q" + std::to_string(counter++) + "R" +
         std::to_string(random() % 1000000007) + "." + host;
}

}  // namespace

std::string deliver_to_maildir(const std::string& root, const std::string& message) {
  for (const char* sub : {"tmp", "new", "cur"}) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(root) / sub, ec);
    if (ec) throw std::system_error(ec, "cannot create " + root + "/" + sub);
  }
  const std::string name = unique_name();
  const std::string tmp = root + "/tmp/" + name;
  const std::string dest = root + "/new/" + name;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) fail("cannot create " + tmp);
  std::size_t done = 0;
  while (done < message.size()) {
    auto n = ::write(fd, message.data() + done, message.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail("cannot write " + tmp);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail("cannot fsync " + tmp);
  }
  if (::rename(tmp.c_str(), dest.c_str()) != 0) fail("cannot rename into " + dest);
  fsync_path(root + "/new", O_RDONLY | O_DIRECTORY);
  return name;
}

}  // namespace postern::delivery
