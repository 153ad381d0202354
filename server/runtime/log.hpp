// Structured logging: one line per event on stdout, `time level event key=value...`, each line
// written with a single write() so lines from several threads never interleave. Callers pass
// only what may be shown: never a password, an AUTH payload or a message body.
//
// Values may come from a hostile client (a user name, a HELO, a sender) or server (a reply), so
// the log layer makes every one safe whoever the caller: a value is cut after max_bytes (512 by
// default: any valid name or address, one whole SMTP reply line) with a marker saying how much
// was left out, and quoted and escaped as format_value() shows, so it can neither forge a line
// nor reach a terminal as a control sequence.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>

namespace postern::log {

enum class Level { Debug, Info, Warning, Error };

// The most octets of a value a line shows, unless its field says otherwise.
inline constexpr std::size_t kMaxValueBytes = 512;
// For a value the relay itself wrote and wants whole (the start-up line's config summary).
inline constexpr std::size_t kWholeValue = std::numeric_limits<std::size_t>::max();

struct Field {
  std::string_view key;
  std::string value;
  std::size_t max_bytes = kMaxValueBytes;
};

// How a value appears in a line: as it is when it is plain printable text (no space, quote,
// '=', backslash); else in double quotes with '"' and '\' backslash-escaped and every byte that
// schema::printable_length() refuses (C0 and C1 controls, DEL, bytes that are not UTF-8, line
// separators, bidirectional overrides) written as \xNN. A value longer than max_bytes keeps its
// first max_bytes octets (never half a UTF-8 character) and ends in "...[+N bytes]".
std::string format_value(std::string_view value, std::size_t max_bytes = kMaxValueBytes);

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
