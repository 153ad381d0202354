// Reading a whole file with the operating system's reason when that fails, for messages like
// "cannot read /x: Permission denied": postern's config and secret files, mailadmin's secret
// files.
//
//   std::string text = schema::read_file(path);   // std::system_error on failure
#pragma once

#include <string>

namespace postern::schema {

// The file's contents. Throws std::system_error whose code().message() is strerror's text.
std::string read_file(const std::string& path);

}  // namespace postern::schema
