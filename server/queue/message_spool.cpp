// See message_spool.hpp.
#include "server/queue/message_spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <utility>
#include <vector>

namespace postern::queue {
namespace {

[[noreturn]] void fail(int error, const std::string& what) {
  throw SpoolError(error, std::generic_category(), what);
}

// An open, nameless, read-write file in `directory`; the caller closes it.
int open_unlinked_file(const SpoolSettings& settings) {
  const std::string& directory = settings.directory;
#ifdef O_TMPFILE
  if (settings.use_o_tmpfile) {
    const int fd = ::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, S_IRUSR | S_IWUSR);
    if (fd >= 0) return fd;
    // The kernel or the file system lacks O_TMPFILE: fall back. Any other error is real.
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
      fail(errno, "cannot create a temporary file in " + directory);
    }
  }
#endif
  std::string path = directory + "/postern-spool-XXXXXX";
  std::vector<char> name(path.begin(), path.end());
  name.push_back('\0');
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) fail(errno, "cannot create a temporary file in " + directory);
  if (::unlink(name.data()) != 0) {
    const int error = errno;
    ::close(fd);
    fail(error, "cannot unlink the temporary file " + std::string(name.data()));
  }
  return fd;
}

}  // namespace

MessageSpool::MessageSpool(SpoolSettings settings) : settings_(std::move(settings)) {}

MessageSpool::~MessageSpool() {
  if (file_ >= 0) ::close(file_);
}

MessageSpool::MessageSpool(MessageSpool&& other) noexcept
    : settings_(std::move(other.settings_)),
      memory_(std::move(other.memory_)),
      file_(std::exchange(other.file_, -1)),
      size_(std::exchange(other.size_, 0)),
      read_offset_(std::exchange(other.read_offset_, 0)) {}

MessageSpool& MessageSpool::operator=(MessageSpool&& other) noexcept {
  if (this != &other) {
    if (file_ >= 0) ::close(file_);
    settings_ = std::move(other.settings_);
    memory_ = std::move(other.memory_);
    file_ = std::exchange(other.file_, -1);
    size_ = std::exchange(other.size_, 0);
    read_offset_ = std::exchange(other.read_offset_, 0);
  }
  return *this;
}

void MessageSpool::append(std::string_view bytes) {
  if (file_ < 0 && memory_.size() + bytes.size() > settings_.memory_limit) move_to_file();
  if (file_ >= 0) {
    write_all(bytes);
  } else {
    memory_.append(bytes);
  }
  size_ += bytes.size();
}

std::size_t MessageSpool::read(char* data, std::size_t size) {
  if (file_ < 0) {
    const std::size_t n = memory_.copy(data, size, static_cast<std::size_t>(read_offset_));
    read_offset_ += n;
    return n;
  }
  for (;;) {
    const ssize_t n = ::pread(file_, data, size, static_cast<off_t>(read_offset_));
    if (n >= 0) {
      read_offset_ += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
    if (errno != EINTR) fail(errno, "cannot read the spool file");
  }
}

// What is in memory goes to the file; from now on everything does.
void MessageSpool::move_to_file() {
  file_ = open_unlinked_file(settings_);
  write_all(memory_);
  std::string().swap(memory_);  // give the memory back, not just the length
}

// Appends at the end of the file (reads use pread, so the file offset is always the end).
void MessageSpool::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(file_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno, "cannot write the spool file in " + settings_.directory);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string default_spool_directory() {
  std::error_code ignored;
  const std::filesystem::path temp = std::filesystem::temp_directory_path(ignored);
  return temp.empty() ? "/tmp" : temp.string();
}

void check_spool_directory(const SpoolSettings& settings) {
  ::close(open_unlinked_file(settings));
}

}  // namespace postern::queue
