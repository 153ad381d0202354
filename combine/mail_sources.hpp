// Where share mails come from: single message files, maildirs (their cur/ and new/) and mboxes
// (a file or standard input). Each source hands its mails, one at a time, to a callback with a
// name for messages ("inbox/cur/1700000000.x:2,S", "shares.mbox message 3") so that reports
// can point at the mail they are about. Another source (IMAP, say) is one more function here.
//
//   read_input("mail/a", collect);      // a maildir, an mbox file or a message file
//   read_mbox_stream(std::cin, "stdin", collect);
//
// Reading failures throw InputError with the path and the system's reason.
#pragma once

#include <filesystem>
#include <functional>
#include <istream>
#include <stdexcept>
#include <string>

namespace postern::combine {

struct SourcedMail {
  std::string origin;  // where it came from, for reports
  std::string bytes;
};

using MailCallback = std::function<void(SourcedMail)>;

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Why `path` cannot be an input, or empty: it must be a regular file or a maildir (a directory
// with cur/ or new/).
std::string input_problem(const std::filesystem::path& path);

// A maildir, a file that starts with "From " (an mbox), or a single message file.
void read_input(const std::filesystem::path& path, const MailCallback& callback);

// Every message of the mbox on `stream`; `name` labels them.
void read_mbox_stream(std::istream& stream, const std::string& name, const MailCallback& callback);

}  // namespace postern::combine
