// See maildir.hpp.
#include "server/delivery/maildir.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <random>
#include <sys/stat.h>
#include <stdexcept>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace postern::delivery {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void fsync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) fail("cannot open " + path);
  if (::fsync(fd) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
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

MaildirFile::~MaildirFile() { abandon(); }

void MaildirFile::open() {
  for (const char* sub : {"tmp", "new", "cur"}) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(root_) / sub, ec);
    if (ec) throw std::system_error(ec, "cannot create " + root_ + "/" + sub);
  }
  name_ = unique_name();
  tmp_ = root_ + "/tmp/" + name_;
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd_ < 0) fail("cannot create " + tmp_);
}

void MaildirFile::write(std::string_view bytes) {
  if (fd_ < 0) throw std::logic_error("MaildirFile::write before open");
  while (!bytes.empty()) {
    const auto n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write " + tmp_);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string MaildirFile::commit() {
  if (fd_ < 0) throw std::logic_error("MaildirFile::commit before open");
  const int fd = std::exchange(fd_, -1);
  bool written = ::fsync(fd) == 0;
  int saved = errno;
  if (::close(fd) != 0 && written) {
    written = false;
    saved = errno;
  }
  if (!written) {
    ::unlink(tmp_.c_str());
    tmp_.clear();
    errno = saved;
    fail("cannot fsync " + root_ + "/tmp/" + name_);
  }
  const std::string dest = root_ + "/new/" + name_;
  if (::rename(tmp_.c_str(), dest.c_str()) != 0) {
    saved = errno;
    ::unlink(tmp_.c_str());
    tmp_.clear();
    errno = saved;
    fail("cannot rename into " + dest);
  }
  tmp_.clear();
  fsync_path(root_ + "/new", O_RDONLY | O_DIRECTORY);
  return name_;
}

void MaildirFile::abandon() {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  if (!tmp_.empty()) ::unlink(std::exchange(tmp_, std::string()).c_str());
}

}  // namespace postern::delivery
