// TTY no-echo prompt and stdin password reading. See password_input.hpp.
#include "password_input.hpp"

#include "postern/schema/errors.hpp"

#include <csignal>
#include <cstdio>
#include <iostream>
#include <termios.h>
#include <unistd.h>

namespace postern::mailadmin {
namespace {

using postern::schema::InvalidInput;

// The terminal state to restore if a signal arrives while echo is off.
termios g_saved_termios{};
volatile std::sig_atomic_t g_echo_off = 0;

extern "C" void restore_and_reraise(int sig) {
  if (g_echo_off) tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// Echo off for the lifetime of the object, restored on every exit path and on SIGINT/SIGTERM.
class EchoOff {
 public:
  EchoOff() {
    if (tcgetattr(STDIN_FILENO, &g_saved_termios) != 0) return;
    termios quiet = g_saved_termios;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;  // the Enter key still moves to the next line
    old_int_ = std::signal(SIGINT, restore_and_reraise);
    old_term_ = std::signal(SIGTERM, restore_and_reraise);
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0) g_echo_off = 1;
  }
  ~EchoOff() {
    if (g_echo_off) tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
    g_echo_off = 0;
    if (old_int_ != SIG_ERR) std::signal(SIGINT, old_int_);
    if (old_term_ != SIG_ERR) std::signal(SIGTERM, old_term_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  void (*old_int_)(int) = SIG_ERR;
  void (*old_term_)(int) = SIG_ERR;
};

bool read_line(std::string& line) {
  if (!std::getline(std::cin, line)) return false;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return true;
}

std::string prompt_hidden(const char* prompt) {
  std::string line;
  bool ok;
  {
    // Echo goes off before the prompt appears: whatever is typed after it is never shown.
    EchoOff echo_off;
    std::cerr << prompt << std::flush;
    ok = read_line(line);
  }
  if (!ok) {
    std::cerr << '\n';
    std::cin.clear();  // a REPL on the same terminal keeps reading after ^D here
    throw InvalidInput("no password given");
  }
  return line;
}

}  // namespace

std::string read_new_password(bool from_stdin) {
  std::string password;
  if (from_stdin || !isatty(STDIN_FILENO)) {
    if (!read_line(password)) throw InvalidInput("no password on standard input");
  } else {
    password = prompt_hidden("password: ");
    if (password.empty()) throw InvalidInput("password is empty");
    const std::string again = prompt_hidden("retype password: ");
    if (again != password) throw InvalidInput("passwords do not match");
  }
  if (password.empty()) throw InvalidInput("password is empty");
  return password;
}

}  // namespace postern::mailadmin
