// A message's content between DATA and the queue. A small message stays in memory; past
// SpoolSettings::memory_limit (1 MiB) it moves to an unlinked temporary file in the configured
// directory (queue.spool_directory), so memory per message in flight stays bounded whatever its
// size. The session appends each MessageData piece; intake reads it back once, from the start:
//
//   MessageSpool spool{settings};
//   spool.append(piece);                                    // throws SpoolError
//   while (std::size_t n = spool.read(buffer, sizeof buffer)) use(buffer, n);
//
// The file never has a name anyone could open: O_TMPFILE where the file system supports it,
// else mkstemp and unlink at once. Closing it (the spool's destructor, or the process dying)
// frees the space. Not thread-safe; one owner at a time (it moves from session to intake).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace postern::queue {

inline constexpr std::size_t kSpoolMemoryLimit = 1024 * 1024;

struct SpoolSettings {
  std::string directory;                         // for large messages; see default_spool_directory()
  std::size_t memory_limit = kSpoolMemoryLimit;  // a message over this moves to a file
  bool use_o_tmpfile = true;                     // false: always mkstemp + unlink (tests of that path)
};

// An operating system error of the spool; code() says which (ENOSPC: the disk is full).
struct SpoolError : std::system_error {
  using std::system_error::system_error;
};

class MessageSpool {
 public:
  explicit MessageSpool(SpoolSettings settings);
  ~MessageSpool();
  MessageSpool(MessageSpool&& other) noexcept;
  MessageSpool& operator=(MessageSpool&& other) noexcept;

  // Adds bytes at the end; moves everything to a file once the total passes the memory limit.
  void append(std::string_view bytes);

  // Reads up to `size` bytes into `data`, going on from where the last read stopped; returns
  // how many, 0 at the end.
  std::size_t read(char* data, std::size_t size);

  // Where the next read starts, and moving it (a handler's command reads the content, then
  // intake reads it again from where it was).
  std::uint64_t position() const { return read_offset_; }
  void seek(std::uint64_t offset) { read_offset_ = offset < size_ ? offset : size_; }

  std::uint64_t size() const { return size_; }
  bool in_file() const { return file_ >= 0; }
  int file_descriptor() const { return file_; }  // -1 while in memory; for tests

 private:
  void move_to_file();
  void write_all(std::string_view bytes);

  SpoolSettings settings_;
  std::string memory_;
  int file_ = -1;
  std::uint64_t size_ = 0;
  std::uint64_t read_offset_ = 0;
};

// The system's temporary directory ($TMPDIR, else /tmp): queue.spool_directory's default.
std::string default_spool_directory();

// At start-up: makes (and drops) one spool file in `directory`, so a missing or read-only
// directory stops the daemon instead of failing every large message. Throws SpoolError.
void check_spool_directory(const SpoolSettings& settings);

}  // namespace postern::queue
