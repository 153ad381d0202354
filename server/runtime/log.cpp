// See log.hpp.
#include "server/runtime/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <unistd.h>

namespace postern::log {
namespace {

std::atomic<Level> g_level{Level::Info};

constexpr std::string_view name_of(Level level) {
  switch (level) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warning: return "warning";
    case Level::Error: return "error";
  }
  return "info";
}

// Values with spaces, quotes or control characters are quoted and escaped, so a line always
// parses as key=value pairs and a hostile value cannot forge a second line.
void append_value(std::string& line, std::string_view value) {
  bool plain = !value.empty();
  for (unsigned char c : value) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) { plain = false; break; }
  }
  if (plain) { line += value; return; }
  line.push_back('"');
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') { line.push_back('\\'); line.push_back(static_cast<char>(c)); }
    else if (c < ' ' || c == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      line += hex;
    } else line.push_back(static_cast<char>(c));
  }
  line.push_back('"');
}

void append_time(std::string& line) {
  auto now = std::chrono::system_clock::now();
  auto seconds = std::chrono::system_clock::to_time_t(now);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
  line += text;
}

}  // namespace

void set_level(Level level) { g_level.store(level); }
bool enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

void write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  std::string line;
  line.reserve(160);
  append_time(line);
  line += " level=";
  line += name_of(level);
  line += " event=";
  line += event;
  for (const auto& field : fields) {
    line.push_back(' ');
    line += field.key;
    line.push_back('=');
    append_value(line, field.value);
  }
  line.push_back('\n');
  // One write per line: atomic for a pipe up to PIPE_BUF, and never interleaved mid-line by stdio.
  std::size_t done = 0;
  while (done < line.size()) {
    auto n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace postern::log
