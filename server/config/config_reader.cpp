#include "server/config/config_reader.hpp"

#include "postern/schema/address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "server/config/config.hpp"

namespace postern::config::detail {
namespace {

// yaml-cpp marks are 0-based; an absent mark is -1, which becomes 0 ("no line").
int line_of(const YAML::Node& node) { return node.Mark().line + 1; }

// What a value was, for "expected X, got Y".
std::string got(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: return quote(node.Scalar());
    case YAML::NodeType::Sequence: return "a sequence";
    case YAML::NodeType::Map: return "a mapping";
    default: return "nothing";
  }
}

// Optimal string alignment distance: like Levenshtein, but a swap of two neighbours costs 1,
// the commonest typo in a key name.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

bool is_domain_name(const std::string& name) {
  return name.size() <= 253 && name.front() != '.' && name.back() != '.' &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.';
         });
}

bool is_ip_address(const std::string& text) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

void fail(const std::string& file, int line, std::string_view path, std::string_view message) {
  std::string text = file;
  if (line > 0) text += ":" + std::to_string(line);
  text += ": ";
  if (!path.empty()) {
    text += path;
    text += ": ";
  }
  text += message;
  throw ConfigError(text);
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (byte < 0x20 || byte == 0x7f) {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

Section Section::root(const YAML::Node& node, const std::string& file) {
  if (!node.IsNull() && !node.IsMap()) {
    fail(file, line_of(node), "", "expected a mapping of settings, got " + got(node));
  }
  return Section(file, "", 0, node);
}

Section::Section(std::string file, std::string path, int line, const YAML::Node& node)
    : file_(std::move(file)), path_(std::move(path)), line_(line), present_(node.IsMap()) {
  if (!present_) return;
  for (const auto& pair : node) {
    const int key_line = line_of(pair.first);
    if (!pair.first.IsScalar()) fail(file_, key_line, path_, "keys must be plain names");
    const std::string& key = pair.first.Scalar();
    for (const Entry& seen : entries_) {
      // yaml-cpp keeps both; refusing is better than silently using one of them.
      if (seen.key == key) fail(file_, key_line, "", "duplicate key " + quote(this->path(key)));
    }
    entries_.push_back(Entry{key, key_line, pair.second});
  }
}

const Section::Entry* Section::find(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  for (const Entry& entry : entries_) {
    if (entry.key == key) return &entry;
  }
  return nullptr;
}

bool Section::has(std::string_view key) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const Entry& entry) { return entry.key == key; });
}

void Section::section(std::string_view key, const std::function<void(Section&)>& body) {
  const Entry* entry = find(key);
  YAML::Node node;  // null: absent
  int line = line_;
  if (entry != nullptr) {
    if (!entry->value.IsNull() && !entry->value.IsMap()) {
      fail_entry(*entry, "expected a mapping, got " + got(entry->value));
    }
    node = entry->value;
    line = entry->line;
  }
  Section child(file_, path(key), line, node);
  body(child);
  child.finish();
}

bool Section::list(std::string_view key, const std::function<void(Section&)>& item) {
  const Entry* entry = find(key);
  if (entry == nullptr || entry->value.IsNull()) return false;
  if (!entry->value.IsSequence()) {
    fail_entry(*entry, "expected a sequence, got " + got(entry->value));
  }
  for (std::size_t i = 0; i < entry->value.size(); ++i) {
    const YAML::Node node = entry->value[i];
    const std::string item_path = path(key) + "[" + std::to_string(i) + "]";
    if (!node.IsMap()) {
      fail(file_, line_of(node), item_path, "expected a mapping, got " + got(node));
    }
    Section child(file_, item_path, line_of(node), node);
    item(child);
    child.finish();
  }
  return true;
}

bool Section::read(std::string_view key, std::string& target, Empty empty) {
  const Entry* entry = find(key);
  if (entry == nullptr) return false;
  std::string value = scalar(*entry, "a string");
  if (value.empty() && empty == Empty::Refused) fail_entry(*entry, "must not be empty");
  target = std::move(value);
  return true;
}

bool Section::read(std::string_view key, std::vector<std::string>& target) {
  const Entry* entry = find(key);
  if (entry == nullptr) return false;
  if (!entry->value.IsSequence()) fail_entry(*entry, "expected a sequence of strings, got " + got(entry->value));
  if (entry->value.size() == 0) fail_entry(*entry, "must not be empty");
  std::vector<std::string> values;
  for (std::size_t i = 0; i < entry->value.size(); ++i) {
    const YAML::Node node = entry->value[i];
    const std::string item_path = path(key) + "[" + std::to_string(i) + "]";
    if (!node.IsScalar()) fail(file_, line_of(node), item_path, "expected a string, got " + got(node));
    if (node.Scalar().empty()) fail(file_, line_of(node), item_path, "must not be empty");
    values.push_back(node.Scalar());
  }
  target = std::move(values);
  return true;
}

bool Section::read_one_or_more(std::string_view key, std::vector<std::string>& target) {
  const Entry* entry = find(key);
  if (entry == nullptr) return false;
  if (entry->value.IsSequence()) return read(key, target);
  std::string one;
  read(key, one);
  target = {std::move(one)};
  return true;
}

bool Section::read(std::string_view key, bool& target) {
  const Entry* entry = find(key);
  if (entry == nullptr) return false;
  // YAML 1.2 booleans only: "yes", "no", "on" and "off" are refused rather than guessed at.
  const std::string value = scalar(*entry, "true or false");
  if (value == "true" || value == "True" || value == "TRUE") {
    target = true;
  } else if (value == "false" || value == "False" || value == "FALSE") {
    target = false;
  } else {
    fail_entry(*entry, "expected true or false, got " + quote(value));
  }
  return true;
}

std::string Section::scalar(const Entry& entry, std::string_view expected) const {
  if (!entry.value.IsScalar()) {
    fail_entry(entry, "expected " + std::string(expected) + ", got " + got(entry.value));
  }
  return entry.value.Scalar();
}

std::uint64_t Section::integer(const Entry& entry, std::uint64_t min, std::uint64_t max) const {
  const std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  // A range up to a type's largest value says nothing useful; name the lower bound only.
  std::string wanted = range;
  if (max >= std::numeric_limits<std::uint32_t>::max()) {
    wanted = min == 0   ? "a non-negative integer"
             : min == 1 ? "a positive integer"
                        : "an integer of at least " + std::to_string(min);
  }
  const std::string text = scalar(entry, wanted);
  const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
  if (!digits) fail_entry(entry, "expected " + wanted + ", got " + quote(text));
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || value > max) {
    fail_entry(entry, "expected " + range + ", got " + quote(text));
  }
  if (value < min) fail_entry(entry, "expected " + wanted + ", got " + quote(text));
  return value;
}

std::size_t Section::choice(const Entry& entry, const std::vector<std::string_view>& names) const {
  std::string wanted = "one of ";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) wanted += ", ";
    wanted += names[i];
  }
  const std::string value = scalar(entry, wanted);
  const auto it = std::find(names.begin(), names.end(), value);
  if (it == names.end()) fail_entry(entry, "expected " + wanted + ", got " + quote(value));
  return static_cast<std::size_t>(it - names.begin());
}

void Section::finish() const {
  for (const Entry& entry : entries_) {
    if (std::find(known_.begin(), known_.end(), entry.key) != known_.end()) continue;
    std::string message = "unknown key " + quote(path(entry.key));
    const std::string* best = nullptr;
    std::size_t best_distance = 3;  // suggest only within an edit distance of 2
    for (const std::string& candidate : known_) {
      const std::size_t distance = edit_distance(entry.key, candidate);
      // "x" is 2 edits from "io" too: a suggestion must keep some of the typed key.
      if (distance < best_distance && distance < std::min(entry.key.size(), candidate.size())) {
        best = &candidate;
        best_distance = distance;
      }
    }
    if (best != nullptr) message += " (did you mean " + quote(*best) + "?)";
    fail(file_, entry.line, "", message);
  }
}

std::string Section::path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void Section::fail_at(std::string_view key, std::string_view message) const {
  for (const Entry& entry : entries_) {
    if (entry.key == key) fail_entry(entry, message);
  }
  fail(file_, line_, path(key), message);
}

void Section::fail_here(std::string_view message) const { fail(file_, line_, path_, message); }

void Section::fail_entry(const Entry& entry, std::string_view message) const {
  fail(file_, entry.line, path(entry.key), message);
}

bool is_plain_name(const std::string& name) {
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::string read_address(Section& s, std::string_view key) {
  std::string text;
  if (!s.read(key, text)) return "";
  const auto address = schema::parse_address(text);
  if (!address) s.fail_at(key, address.error);
  return address->str();
}

std::string read_domain(Section& s, std::string_view key) {
  std::string text;
  if (!s.read(key, text)) return "";
  const auto domain = schema::normalize_domain(text);
  if (!domain) s.fail_at(key, domain.error);
  return *domain;
}

std::vector<std::string> read_domains(Section& s, std::string_view key) {
  std::vector<std::string> texts;
  if (!s.read(key, texts)) return {};
  std::vector<std::string> domains;
  for (const std::string& text : texts) {
    const auto domain = schema::normalize_domain(text);
    if (!domain) s.fail_at(key, quote(text) + ": " + domain.error);
    domains.push_back(*domain);
  }
  return domains;
}

}  // namespace postern::config::detail
