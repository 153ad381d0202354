// The `maildir` upstream: each delivered message becomes one file in <root>/new, written to
// <root>/tmp first, fsync'ed and renamed, so a reader never sees half a message and a crash
// leaves at worst a stray file in tmp/. The message streams into the file piece by piece:
//
//   MaildirFile file{root};
//   file.open();                     // creates the folders and tmp/<name>
//   file.write(piece);               // as often as needed
//   std::string name = file.commit();   // fsync, rename into new/, fsync new/
//
// A file that is not committed is removed from tmp/ when the MaildirFile goes. Blocking: call
// open(), write() and commit() on the blocking pool. Each throws std::system_error on any I/O
// failure.
#pragma once

#include <string>
#include <string_view>

namespace postern::delivery {

class MaildirFile {
 public:
  explicit MaildirFile(std::string root) : root_(std::move(root)) {}
  ~MaildirFile();  // closes and removes an uncommitted file
  MaildirFile(const MaildirFile&) = delete;
  MaildirFile& operator=(const MaildirFile&) = delete;

  void open();
  void write(std::string_view bytes);
  // Returns the file name written in <root>/new.
  std::string commit();

 private:
  void abandon();

  std::string root_;
  std::string name_;
  std::string tmp_;  // <root>/tmp/<name>, while it is being written
  int fd_ = -1;
};

}  // namespace postern::delivery
