// Structured logging: one line per event on stdout, `time level event key=value...`, each line
// written with a single write() so lines from several threads never interleave. Callers pass
// only what may be shown: never a password, an AUTH payload or a message body.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace postern::log {

enum class Level { Debug, Info, Warning, Error };

struct Field {
  std::string_view key;
  std::string value;
};

void set_level(Level level);
bool enabled(Level level);
void write(Level level, std::string_view event, std::initializer_list<Field> fields);

inline void debug(std::string_view event, std::initializer_list<Field> fields = {}) {
  if (enabled(Level::Debug)) write(Level::Debug, event, fields);
}
inline void info(std::string_view event, std::initializer_list<Field> fields = {}) {
  if (enabled(Level::Info)) write(Level::Info, event, fields);
}
inline void warning(std::string_view event, std::initializer_list<Field> fields = {}) {
  if (enabled(Level::Warning)) write(Level::Warning, event, fields);
}
inline void error(std::string_view event, std::initializer_list<Field> fields = {}) {
  write(Level::Error, event, fields);
}

}  // namespace postern::log
