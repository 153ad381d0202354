// Reading a new password for `add user` and `passwd`, without ever echoing or printing it.
//
// On a terminal (stdin is a TTY and --password-stdin was not given) the password is asked twice
// with echo off (termios), prompts on stderr, and a mismatch is refused. Otherwise one line is
// read from standard input (a trailing CR is dropped): scripts pipe it in, and in a piped REPL
// it is simply the next input line. Failures throw schema::InvalidInput.
#pragma once

#include <string>

namespace postern::mailadmin {

std::string read_new_password(bool from_stdin);

}  // namespace postern::mailadmin
