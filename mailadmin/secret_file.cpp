// See secret_file.hpp.
#include "secret_file.hpp"

#include "postern/schema/errors.hpp"
#include "postern/schema/read_file.hpp"

#include <system_error>

namespace postern::mailadmin {

std::string read_secret_file(const std::string& path) {
  std::string contents;
  try {
    contents = schema::read_file(path);
  } catch (const std::system_error& e) {
    throw schema::InvalidInput("cannot read " + path + ": " + e.code().message());
  }
  while (!contents.empty() && (contents.back() == '\n' || contents.back() == '\r')) contents.pop_back();
  if (contents.empty()) throw schema::InvalidInput(path + " is empty");
  if (contents.find('\0') != std::string::npos) throw schema::InvalidInput(path + " holds a NUL byte");
  return contents;
}

}  // namespace postern::mailadmin
