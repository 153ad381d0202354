// Internal to the config loader: walking a YAML mapping key by key with typed reads, so that a
// section of postern.yaml is read by one short function and every error names the file, the
// line and the full dotted key.
//
//   root.section("limits", [&](Section& s) {
//     s.read("max_recipients", cfg.max_recipients);  // checks the type, marks the key as known
//   });                                              // then: any other key is an error
//
// Every read leaves its target untouched when the key is absent and returns whether it was
// present; a key with no value (`port:`) is a type error, except for a section, where it means
// "absent" so that an example file can comment out a section's contents. Errors are thrown as
// ConfigError at the first problem. Checks that relate several keys belong after the reads of
// the whole file (see parse_config), so that a misspelt key is reported as unknown rather than
// as a missing value.
#pragma once

#include <yaml-cpp/yaml.h>

#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace postern::config::detail {

// Checks that relate several keys, run in order once the whole file has been read.
using Checks = std::vector<std::function<void()>>;

// A name fit for the greeting, EHLO and Received: headers: letters, digits, '-' and '.', no
// leading or trailing dot, at most 253 octets. Never empty (reads refuse empty strings).
bool is_domain_name(const std::string& name);

bool is_ip_address(const std::string& text);

// A name of upstreams and handlers: they appear in logs, metrics, routes and `mailadmin queue`
// output, so one plain word of letters, digits, '.', '_' and '-'.
bool is_plain_name(const std::string& name);

// An address (parsed as a MAIL FROM mailbox: its domain normalised) or a domain (normalised: IDNA to ASCII, lowercase) read from `key`; "" when the
// key is absent. A parse error is reported at the key.
class Section;
std::string read_address(Section& s, std::string_view key);
std::string read_domain(Section& s, std::string_view key);
// A sequence of domains, each normalised; empty when the key is absent.
std::vector<std::string> read_domains(Section& s, std::string_view key);

// "file:line: path: message", or "file: path: message" when line is 0 (no place in the file).
[[noreturn]] void fail(const std::string& file, int line, std::string_view path,
                       std::string_view message);

// `text` in double quotes, with quotes, backslashes and control characters escaped, so that an
// error stays on one line whatever the file contains.
std::string quote(std::string_view text);

enum class Empty { Refused, Allowed };

class Section {
 public:
  // The top level of a file; `node` must be a mapping or null (an empty file).
  static Section root(const YAML::Node& node, const std::string& file);

  // Reads a nested mapping (absent or null: an empty one, so defaults stay) with `body`, then
  // rejects its unknown keys.
  void section(std::string_view key, const std::function<void(Section&)>& body);

  // Reads a sequence of mappings, calling `item` for each, then rejects each one's unknown
  // keys. Returns whether the key was present and not null.
  bool list(std::string_view key, const std::function<void(Section&)>& item);

  bool read(std::string_view key, std::string& target, Empty empty = Empty::Refused);
  bool read(std::string_view key, bool& target);
  // A sequence of non-empty strings (`argv: [/bin/prog, --flag]`); an empty sequence is refused.
  bool read(std::string_view key, std::vector<std::string>& target);
  // One non-empty string (`audience: postern`) or a sequence of them, as a vector.
  bool read_one_or_more(std::string_view key, std::vector<std::string>& target);

  // Decimal digits only, within [min, max]; max defaults to the largest value of T.
  template <std::unsigned_integral T>
    requires(!std::same_as<T, bool>)
  bool read(std::string_view key, T& target, std::uint64_t min = 1,
            std::uint64_t max = std::numeric_limits<T>::max()) {
    const Entry* entry = find(key);
    if (entry == nullptr) return false;
    target = static_cast<T>(integer(*entry, min, max));
    return true;
  }

  // One of the given names, e.g. {{"starttls", ListenerTls::StartTls}, ...}.
  template <typename E>
  bool read(std::string_view key, E& target,
            std::initializer_list<std::pair<std::string_view, E>> choices) {
    const Entry* entry = find(key);
    if (entry == nullptr) return false;
    std::vector<std::string_view> names;
    for (const auto& [name, value] : choices) names.push_back(name);
    target = (choices.begin() + choice(*entry, names))->second;
    return true;
  }

  // Whether `key` is present, without reading it or marking it as known: for keys that are
  // refused whatever their value (an inline secret, whose value must not be echoed) or allowed
  // only with some other setting.
  bool has(std::string_view key) const;

  // Rejects the first key (in file order) that no read asked for. Called by section() and
  // list() for nested sections; the caller of root() calls it once at the end.
  void finish() const;

  // Whether the section exists in the file (a section that is absent or null does not).
  bool present() const { return present_; }
  const std::string& file() const { return file_; }

  // Errors about `key` (at its line, or at this section's line when the key is absent) and
  // about the section itself.
  [[noreturn]] void fail_at(std::string_view key, std::string_view message) const;
  [[noreturn]] void fail_here(std::string_view message) const;

 private:
  struct Entry {
    std::string key;
    int line;  // 1-based line of the key
    YAML::Node value;
  };

  Section(std::string file, std::string path, int line, const YAML::Node& node);

  // The dotted path of `key` in this section ("limits.max_recipients").
  std::string path(std::string_view key) const;
  // Marks `key` as known; nullptr when absent.
  const Entry* find(std::string_view key);
  std::string scalar(const Entry& entry, std::string_view expected) const;
  std::uint64_t integer(const Entry& entry, std::uint64_t min, std::uint64_t max) const;
  std::size_t choice(const Entry& entry, const std::vector<std::string_view>& names) const;
  [[noreturn]] void fail_entry(const Entry& entry, std::string_view message) const;

  std::string file_;
  std::string path_;  // "" for the root, "limits", "listeners[0]"
  int line_;          // where the section starts (0 for the root)
  bool present_;
  std::vector<Entry> entries_;     // in file order
  std::vector<std::string> known_;  // keys asked for, for "unknown key" and "did you mean"
};

}  // namespace postern::config::detail
