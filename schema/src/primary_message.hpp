// Internal to the schema library: the one line of a PostgreSQL error worth showing an operator.
#pragma once

#include <string>

namespace postern::schema {

// "ERROR:  text\nCONTEXT: ..." as libpq words it: just the text.
inline std::string primary_message(std::string text) {
  if (text.rfind("ERROR:", 0) == 0) text.erase(0, 6);
  text.erase(0, text.find_first_not_of(' '));
  return text.substr(0, text.find('\n'));
}

}  // namespace postern::schema
