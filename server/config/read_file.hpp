// Internal to the config loader: secrets — from a file, with the operating system's reason when
// that fails (schema::read_file reads postern.yaml and the secrets alike), or from the
// environment; never inline in postern.yaml.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "server/config/config_reader.hpp"

namespace postern::config::detail {

// A secret file (database.url_file, upstreams[i].password_file) without the trailing CR/LF that
// `echo` and editors leave. An unreadable or empty file is an error about `key` of `section`
// that names the path, never the contents.
std::string read_secret_file(const Section& section, std::string_view key,
                             const std::string& path);

// Where a section's secret `name` (password, secret) comes from: `<name>_file` or `<name>_env`.
struct SecretSource {
  std::string name;
  bool has_file = false;
  bool has_env = false;
  std::string file;
  std::string variable;
};

// Reads both keys; an inline `<name>` is refused whatever its value, which no error shows.
SecretSource read_secret_source(Section& section, const std::string& name);

// The secret, from exactly one of the two; when neither is there, the error is about `owner`, the
// key that needs it (username, ident, name). Run it as a check, after the whole file was read.
std::string resolve_secret(const Section& section, const SecretSource& source,
                           const std::function<std::optional<std::string>(const std::string&)>& env,
                           std::string_view owner);

}  // namespace postern::config::detail
