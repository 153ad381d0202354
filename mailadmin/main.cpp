// mailadmin's entry point: runs the command given on argv, or the REPL when there is none, and
// turns every failure into one "mailadmin: ..." line on stderr and its exit code
// (exit_codes.hpp).
#include "commands.hpp"
#include "exit_codes.hpp"
#include "repl.hpp"

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  using namespace postern::mailadmin;
  // An unreachable database should fail in seconds, not hang (a URL's connect_timeout wins).
  setenv("PGCONNECT_TIMEOUT", "10", 0);
  try {
    const std::vector<std::string> words(argv + 1, argv + argc);
    Session session(default_settings());
    const LineResult result = run_command_line(words, session);
    if (!result.had_command) {
      session.set_defaults(result.settings);
      return run_repl(session);
    }
    std::cout << std::flush;
    return result.exit_code;
  } catch (...) {
    const Failure failure = describe_failure(std::current_exception());
    std::cout << std::flush;
    std::cerr << "mailadmin: " << failure.message << std::endl;
    return failure.code;
  }
}
