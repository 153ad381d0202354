// The admin API's bearer tokens, from the tokens file: one token per line,
//
//   NAME:ROLE:sha256:HEX
//
// NAME names the token in the audit log (as actor "api:NAME") and the logs: letters, digits,
// '.', '_' and '-'. ROLE is read, operate or admin. HEX is the SHA-256 of the token, 64 hex
// digits: the file never holds the bearer secret itself. Blank lines and lines starting with '#'
// are skipped. A token is looked up by hashing what the client sent and comparing it with every
// line in constant time, so the answer's timing tells nothing about the tokens.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace postern::admin {

// read: every GET. operate: read, and the queue's changes. admin: everything.
enum class Role { Read = 0, Operate = 1, Admin = 2 };

std::string_view role_name(Role role);
// Whether a token of role `held` may do what needs `needed`.
bool role_allows(Role held, Role needed);

struct TokenFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Token {
  std::string name;
  Role role = Role::Read;
  std::array<std::uint8_t, 32> digest{};
};

class TokenStore {
 public:
  // Parses the file's text; errors name `file` and the line: "tokens: line 3: expected ...".
  // Throws TokenFileError.
  static TokenStore parse(std::string_view text, const std::string& file);
  // Reads and parses the file. Throws TokenFileError.
  static TokenStore load(const std::string& path);

  // The token whose digest matches; nullopt for an unknown one.
  std::optional<Token> find(std::string_view bearer) const;
  std::size_t size() const { return tokens_.size(); }

 private:
  std::vector<Token> tokens_;
};

// SHA-256 of `text` as 64 lower-case hex digits: what a line of the tokens file holds.
std::string token_digest_hex(std::string_view text);

}  // namespace postern::admin
