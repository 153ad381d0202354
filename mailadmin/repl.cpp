// The read-eval-print loop. See repl.hpp.
#include "repl.hpp"

#include "commands.hpp"
#include "exit_codes.hpp"

#include <iostream>
#include <unistd.h>

namespace postern::mailadmin {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// `add user U` and `passwd U` take the next input line as the password when stdin is not a
// terminal. If such a line failed before reading it, that line must still be swallowed: run as
// a command it would end up, password and all, in an error message.
bool asks_for_password(const std::vector<std::string>& words) {
  std::vector<std::string> plain;
  for (const auto& w : words) {
    if (!w.empty() && w.front() != '-') plain.push_back(w);
  }
  if (plain.size() >= 2 && plain[0] == "add" && plain[1] == "user") return true;
  return !plain.empty() && plain[0] == "passwd";
}

}  // namespace

std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i == line.size()) break;
    std::string word;
    bool in_quotes = false;
    for (; i < line.size() && (in_quotes || !is_space(line[i])); ++i) {
      const char c = line[i];
      if (c == '"') {
        in_quotes = !in_quotes;
      } else if (in_quotes && c == '\\' && i + 1 < line.size() &&
                 (line[i + 1] == '"' || line[i + 1] == '\\')) {
        word.push_back(line[++i]);
      } else {
        word.push_back(c);
      }
    }
    if (in_quotes) throw UsageError("unterminated quote");
    words.push_back(std::move(word));
  }
  return words;
}

int run_repl(Session& session) {
  std::string line;
  for (;;) {
    std::cout << "> " << std::flush;
    if (!std::getline(std::cin, line)) {
      std::cout << "\nBye" << std::endl;
      return kOk;
    }
    std::vector<std::string> words;
    try {
      words = split_words(line);
      if (words.empty() || words.front().front() == '#') continue;
      if (words.size() == 1 && (words[0] == "exit" || words[0] == "quit")) {
        std::cout << "Bye" << std::endl;
        return kOk;
      }
      const LineResult result = run_command_line(words, session);
      if (!result.had_command) throw UsageError("no command given (try help)");
    } catch (...) {
      const Failure failure = describe_failure(std::current_exception());
      std::cout << std::flush;
      std::cerr << "mailadmin: " << failure.message << std::endl;
      if (failure.code == kDatabaseUnavailable) session.forget_store();
      if (asks_for_password(words) && !session.password_read && !isatty(STDIN_FILENO)) {
        std::string swallowed;
        std::getline(std::cin, swallowed);
      }
    }
    std::cout << std::flush;
  }
}

}  // namespace postern::mailadmin
