// See log.hpp.
#include "server/runtime/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <unistd.h>

#include "postern/schema/printable.hpp"

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

bool is_plain(std::string_view value) {
  if (value.empty()) return false;
  for (std::size_t i = 0; i < value.size();) {
    const char c = value[i];
    const std::size_t n = schema::printable_length(value, i);
    if (n == 0 || c == ' ' || c == '"' || c == '=' || c == '\\') return false;
    i += n;
  }
  return true;
}

// Where to cut a value of more than `max_bytes` octets: at most there, never inside a UTF-8
// character (whose continuation bytes would then show as stray escapes).
std::size_t cut_point(std::string_view value, std::size_t max_bytes) {
  const auto continuation = [&](std::size_t i) {
    return (static_cast<unsigned char>(value[i]) & 0xc0) == 0x80;
  };
  for (std::size_t cut = max_bytes; cut > 0 && cut + 3 >= max_bytes; --cut) {
    if (!continuation(cut)) return cut;
  }
  return max_bytes;
}

// Quoted and escaped, so a line always parses as key=value pairs and a hostile value cannot
// forge a second line or send a control sequence to whoever reads the log.
void append_quoted(std::string& line, std::string_view value) {
  line.push_back('"');
  for (std::size_t i = 0; i < value.size();) {
    const char c = value[i];
    const std::size_t n = schema::printable_length(value, i);
    if (n == 0) {
      schema::append_hex_escape(line, static_cast<unsigned char>(c));
      ++i;
      continue;
    }
    if (c == '"' || c == '\\') line.push_back('\\');
    line.append(value.substr(i, n));
    i += n;
  }
  line.push_back('"');
}

void append_value(std::string& line, std::string_view value, std::size_t max_bytes) {
  if (value.size() <= max_bytes) {
    if (is_plain(value)) {
      line += value;
    } else {
      append_quoted(line, value);
    }
    return;
  }
  const std::size_t cut = cut_point(value, max_bytes);
  append_quoted(line, value.substr(0, cut));
  line.pop_back();  // the closing quote: the marker goes inside
  line += "...[+" + std::to_string(value.size() - cut) + " bytes]\"";
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

std::string format_value(std::string_view value, std::size_t max_bytes) {
  std::string out;
  append_value(out, value, max_bytes);
  return out;
}

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
    append_value(line, field.value, field.max_bytes);
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
