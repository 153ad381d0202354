// Writes restored messages where the user asked: as <name>.eml files in a folder, or into a
// maildir's new/ (its tmp/, new/ and cur/ are made when missing). Each file is written under a
// temporary name, flushed to disk and then renamed, so no reader ever sees a partial message.
// A message already delivered to the maildir by an earlier run is not delivered again; in a
// folder its <name>.eml is replaced by the same bytes.
//
//   MessageOutput output(MessageOutput::Kind::Maildir, "restored");
//   WriteResult written = output.write(id.hex(), message);   // throws OutputError
//
// The name tells a group apart from every other: a postern group id in hex, "privmail-" and a
// privmail UID in hex.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace postern::combine {

struct OutputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct WriteResult {
  std::filesystem::path path;
  bool already_there = false;  // an earlier run delivered it to the maildir; nothing was written
};

class MessageOutput {
 public:
  enum class Kind { Folder, Maildir };

  // Creates the folder (or the maildir's subfolders). Throws OutputError.
  MessageOutput(Kind kind, std::filesystem::path path);

  // `name` is made of letters, digits and '-'.
  WriteResult write(std::string_view name, std::string_view message);

 private:
  Kind kind_;
  std::filesystem::path path_;
};

}  // namespace postern::combine
