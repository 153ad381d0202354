#include "server/config/read_file.hpp"

#include "postern/schema/read_file.hpp"

#include <system_error>

namespace postern::config::detail {

std::string read_secret_file(const Section& section, std::string_view key,
                             const std::string& path) {
  std::string contents;
  try {
    contents = schema::read_file(path);
  } catch (const std::system_error& e) {
    section.fail_at(key, "cannot read " + path + ": " + e.code().message());
  }
  while (!contents.empty() && (contents.back() == '\n' || contents.back() == '\r')) {
    contents.pop_back();
  }
  if (contents.empty()) section.fail_at(key, path + " is empty");
  return contents;
}

SecretSource read_secret_source(Section& section, const std::string& name) {
  if (section.has(name)) {
    section.fail_at(name, "inline " + name + "s are not allowed: use " + name + "_file or " + name + "_env");
  }
  SecretSource source;
  source.name = name;
  source.has_file = section.read(name + "_file", source.file);
  source.has_env = section.read(name + "_env", source.variable);
  return source;
}

std::string resolve_secret(const Section& section, const SecretSource& source,
                           const std::function<std::optional<std::string>(const std::string&)>& env,
                           std::string_view owner) {
  const std::string file_key = source.name + "_file";
  const std::string env_key = source.name + "_env";
  if (source.has_file && source.has_env) section.fail_at(env_key, "cannot be combined with " + file_key);
  if (source.has_file) return read_secret_file(section, file_key, source.file);
  if (!source.has_env) section.fail_at(owner, "needs " + file_key + " or " + env_key);
  const auto value = env(source.variable);
  if (!value) section.fail_at(env_key, "environment variable " + source.variable + " is not set");
  if (value->empty()) section.fail_at(env_key, "environment variable " + source.variable + " is empty");
  return *value;
}

}  // namespace postern::config::detail
