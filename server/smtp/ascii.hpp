// ASCII text helpers for protocol keywords, which are case-insensitive (RFC 5321 §2.4)
// whatever the locale: equals_ignoring_case("mail", "MAIL"), split_on_spaces("a  b").
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace smtp {

bool equals_ignoring_case(std::string_view a, std::string_view b);

std::string to_ascii_upper(std::string_view text);

// The words of `text` separated by one or more spaces; no empty words.
std::vector<std::string_view> split_on_spaces(std::string_view text);

}  // namespace smtp
