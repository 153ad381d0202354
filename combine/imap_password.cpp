#include "combine/imap_password.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace postern::combine {
namespace {

std::string read_password_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw ImapPasswordError(path + ": cannot open: " + std::strerror(errno));
  std::string content((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) throw ImapPasswordError(path + ": read failed");
  std::string password = content.substr(0, content.find('\n'));
  if (password.ends_with('\r')) password.pop_back();
  if (password.empty()) throw ImapPasswordError(path + ": the first line, the password, is empty");
  return password;
}

}  // namespace

ImapPasswords imap_passwords(const std::vector<std::string>& files, const char* environment_value,
                             std::size_t mailbox_count) {
  if (files.empty()) {
    if (environment_value == nullptr || *environment_value == '\0') {
      throw ImapPasswordError("--imap needs a password: give --imap-password-file FILE or set POSTERN_IMAP_PASSWORD");
    }
    return ImapPasswords({environment_value});
  }
  if (files.size() != 1 && files.size() != mailbox_count) {
    throw ImapPasswordError("give one --imap-password-file for all --imap mailboxes or one for each (" +
                            std::to_string(mailbox_count) + "), not " + std::to_string(files.size()));
  }
  std::vector<std::string> passwords;
  for (const std::string& file : files) passwords.push_back(read_password_file(file));
  return ImapPasswords(std::move(passwords));
}

}  // namespace postern::combine
