// Reading a secret from a file (the relay role's password for `migrate`): never from the
// command line, where `ps` and shell histories would show it, and never printed.
#pragma once

#include <string>

namespace postern::mailadmin {

// The file's contents without trailing CR/LF (a secret written with echo or a Kubernetes Secret
// may end in a newline). Throws schema::InvalidInput naming the file when it cannot be read, is
// empty, or holds a NUL byte.
std::string read_secret_file(const std::string& path);

}  // namespace postern::mailadmin
