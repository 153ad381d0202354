#include "combine/message_output.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <system_error>

namespace postern::combine {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const fs::path& path, std::string_view what, int error) {
  throw OutputError(path.string() + ": " + std::string(what) + ": " + std::strerror(error));
}

// Writes `bytes` to a new temporary file in `folder` and renames it to `target`.
void write_atomically(const fs::path& folder, const fs::path& target, std::string_view bytes) {
  std::string temp = (folder / (".postern-combine.XXXXXX")).string();
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) fail(folder, "cannot create a temporary file", errno);
  const auto give_up = [&](std::string_view what) {
    const int error = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    fail(target, what, error);
  };
  // Readable as a plain file would be: mkstemp makes it 0600, the umask decides the rest.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  if (::fchmod(fd, 0666 & ~mask) != 0) give_up("cannot set the file mode");
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t written = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) give_up("write failed");
    done += static_cast<std::size_t>(written);
  }
  if (::fsync(fd) != 0) give_up("fsync failed");
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    fail(target, "close failed", error);
  }
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    fail(target, "rename failed", error);
  }
}

void make_folder(const fs::path& path) {
  std::error_code error;
  fs::create_directories(path, error);
  if (error) throw OutputError(path.string() + ": cannot create: " + error.message());
}

// A maildir file of this group, in new/ or cur/ (where a reader moves it once seen).
fs::path delivered_before(const fs::path& maildir, const std::string& marker) {
  for (const char* sub : {"new", "cur"}) {
    std::error_code error;
    for (const fs::directory_entry& entry : fs::directory_iterator(maildir / sub, error)) {
      if (entry.path().filename().string().find(marker) != std::string::npos) return entry.path();
    }
  }
  return {};
}

}  // namespace

MessageOutput::MessageOutput(Kind kind, fs::path path) : kind_(kind), path_(std::move(path)) {
  if (kind_ == Kind::Folder) {
    make_folder(path_);
  } else {
    for (const char* sub : {"tmp", "new", "cur"}) make_folder(path_ / sub);
  }
}

WriteResult MessageOutput::write(std::string_view name, std::string_view message) {
  if (kind_ == Kind::Folder) {
    const fs::path target = path_ / (std::string(name) + ".eml");
    write_atomically(path_, target, message);
    return WriteResult{target, false};
  }
  // Maildir names are "time.unique.host"; the group id is unique and marks the message as ours.
  const std::string marker = ".postern-" + std::string(name) + ".";
  if (fs::path earlier = delivered_before(path_, marker); !earlier.empty()) return WriteResult{earlier, true};
  const fs::path target = path_ / "new" / (std::to_string(std::time(nullptr)) + marker + "combined");
  write_atomically(path_ / "tmp", target, message);
  return WriteResult{target, false};
}

}  // namespace postern::combine
