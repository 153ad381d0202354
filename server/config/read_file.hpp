// Internal to the config loader: reading a secret file, with the operating system's reason
// when that fails (schema::read_file reads postern.yaml and the secrets alike).
#pragma once

#include <string>
#include <string_view>

#include "server/config/config_reader.hpp"

namespace postern::config::detail {

// A secret file (database.url_file, upstreams[i].password_file) without the trailing CR/LF that
// `echo` and editors leave. An unreadable or empty file is an error about `key` of `section`
// that names the path, never the contents.
std::string read_secret_file(const Section& section, std::string_view key,
                             const std::string& path);

}  // namespace postern::config::detail
