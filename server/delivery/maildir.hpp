// The `maildir` upstream: each delivered message becomes one file in <root>/new, written to
// <root>/tmp first, fsync'ed and renamed, so a reader never sees half a message and a crash
// leaves at worst a stray file in tmp/. Blocking: call it on the blocking pool.
#pragma once

#include <string>

namespace postern::delivery {

// Returns the file name written in <root>/new. Throws std::system_error on any I/O failure.
std::string deliver_to_maildir(const std::string& root, const std::string& message);

}  // namespace postern::delivery
