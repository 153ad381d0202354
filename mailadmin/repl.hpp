// The interactive mode (mailadmin with no command): prompt "> " on stdout before every line,
// each line split into words (whitespace; "double quotes" group, \" and \\ escape inside them;
// a line starting with # is a comment) and run through the same command tree as argv.
// `help` prints the help, `exit`, `quit` or end of input prints "Bye". A failing command prints
// its one-line error on stderr and the loop continues; the REPL itself exits 0.
#pragma once

#include <string>
#include <vector>

namespace postern::mailadmin {

class Session;

// Throws UsageError for an unterminated quote.
std::vector<std::string> split_words(const std::string& line);

int run_repl(Session& session);

}  // namespace postern::mailadmin
