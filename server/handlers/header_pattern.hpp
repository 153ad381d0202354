// A regular expression that a handler's `when` matches against a header field's value: PCRE2,
// compiled once when the configuration is read, matched with a bound on its work so that no
// header a client writes can make a match run away (catastrophic backtracking counts against
// the bound and ends as "no match").
//
//   HeaderPattern subject{"^\\[PBX\\] Voice message"};  // throws std::invalid_argument
//   if (subject.search(value)) ...
//
// Patterns are Perl-compatible; "(?i)" at the start makes one case-insensitive. Values are
// matched as bytes (UTF-8 text is matched without UTF mode, so invalid UTF-8 cannot make a
// match fail). Thread-safe: each search uses its own match data.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace postern::handlers {

class HeaderPattern {
 public:
  // Throws std::invalid_argument saying what is wrong and at which offset.
  explicit HeaderPattern(const std::string& pattern);

  // Whether the pattern matches anywhere in `text`.
  bool search(std::string_view text) const;

  const std::string& text() const { return text_; }
  // The same pattern text compiles to the same matcher.
  friend bool operator==(const HeaderPattern& a, const HeaderPattern& b) { return a.text_ == b.text_; }

 private:
  struct Compiled;
  std::string text_;
  std::shared_ptr<const Compiled> compiled_;
};

}  // namespace postern::handlers
