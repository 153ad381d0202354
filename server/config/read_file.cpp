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

}  // namespace postern::config::detail
