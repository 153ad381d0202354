#include "combine/mail_sources.hpp"

#include "combine/mbox.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>
#include <vector>

namespace postern::combine {
namespace {

namespace fs = std::filesystem;

bool is_maildir(const fs::path& path) {
  std::error_code error;
  return fs::is_directory(path / "cur", error) || fs::is_directory(path / "new", error);
}

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw InputError(path.string() + ": cannot open: " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) throw InputError(path.string() + ": read failed");
  return bytes;
}

void hand_out_mbox(std::string_view text, const std::string& name, const MailCallback& callback) {
  std::vector<std::string> messages = split_mbox(text);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    callback(SourcedMail{name + " message " + std::to_string(i + 1), std::move(messages[i])});
  }
}

// The message files of a maildir, new/ then cur/, each in name order; dot files are skipped
// (maildir readers leave temporary files there).
void read_maildir(const fs::path& path, const MailCallback& callback) {
  for (const char* sub : {"new", "cur"}) {
    const fs::path folder = path / sub;
    std::error_code error;
    if (!fs::is_directory(folder, error)) continue;
    std::vector<fs::path> files;
    for (const fs::directory_entry& entry : fs::directory_iterator(folder, error)) {
      if (entry.is_regular_file() && !entry.path().filename().string().starts_with(".")) {
        files.push_back(entry.path());
      }
    }
    if (error) throw InputError(folder.string() + ": cannot list: " + error.message());
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) callback(SourcedMail{file.string(), read_file(file)});
  }
}

}  // namespace

std::string input_problem(const fs::path& path) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (error) return path.string() + ": " + error.message();
  if (fs::is_regular_file(status)) return {};
  if (fs::is_directory(status)) {
    return is_maildir(path) ? std::string() : path.string() + ": a directory but not a maildir (no cur/ or new/)";
  }
  return path.string() + ": neither a file nor a maildir";
}

void read_input(const fs::path& path, const MailCallback& callback) {
  if (fs::is_directory(path)) {
    read_maildir(path, callback);
    return;
  }
  std::string bytes = read_file(path);
  if (looks_like_mbox(bytes)) {
    hand_out_mbox(bytes, path.string(), callback);
  } else {
    callback(SourcedMail{path.string(), std::move(bytes)});
  }
}

void read_mbox_stream(std::istream& stream, const std::string& name, const MailCallback& callback) {
  std::ostringstream text;
  text << stream.rdbuf();
  if (stream.bad()) throw InputError(name + ": read failed");
  hand_out_mbox(text.view(), name, callback);
}

}  // namespace postern::combine
