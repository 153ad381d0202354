// Internal to the config loader: reading a whole file (postern.yaml, a secret file) with the
// operating system's reason when that fails, for messages like "cannot read /x: Permission
// denied".
#pragma once

#include <string>

namespace postern::config::detail {

// The file's contents. Throws std::system_error whose code().message() is strerror's text.
std::string read_file(const std::string& path);

}  // namespace postern::config::detail
