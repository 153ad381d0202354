// Where the IMAP passwords of postern-combine come from: never the command line (other users
// see it in the process list), but files given with --imap-password-file, or the environment
// variable POSTERN_IMAP_PASSWORD. One file (or the variable) serves every --imap mailbox; as
// many files as mailboxes pair up with them in order.
//
//   ImapPasswords passwords = imap_passwords(password_files, std::getenv("POSTERN_IMAP_PASSWORD"),
//                                            mailbox_count);   // throws ImapPasswordError
//   std::string password = passwords.for_mailbox(i);
//
// A password file holds the password on its first line; the line end is not part of it.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace postern::combine {

struct ImapPasswordError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class ImapPasswords {
 public:
  explicit ImapPasswords(std::vector<std::string> passwords) : passwords_(std::move(passwords)) {}

  const std::string& for_mailbox(std::size_t index) const {
    return passwords_.size() == 1 ? passwords_.front() : passwords_.at(index);
  }

 private:
  std::vector<std::string> passwords_;
};

// Throws ImapPasswordError when a file cannot be read or is empty, when the number of files is
// neither 1 nor `mailbox_count`, or when there is no file and no (non-empty) environment value.
ImapPasswords imap_passwords(const std::vector<std::string>& files, const char* environment_value,
                             std::size_t mailbox_count);

}  // namespace postern::combine
