// See token_store.hpp.
#include "server/admin/token_store.hpp"

#include "postern/schema/hex.hpp"
#include "postern/schema/read_file.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <system_error>

namespace postern::admin {
namespace {

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(std::string_view text) {
  Digest digest{};
  unsigned length = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 ||
      length != digest.size()) {
    throw std::runtime_error("SHA-256 failed");
  }
  return digest;
}

bool is_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<Role> parse_role(std::string_view text) {
  if (text == "read") return Role::Read;
  if (text == "operate") return Role::Operate;
  if (text == "admin") return Role::Admin;
  return std::nullopt;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<Digest> parse_digest(std::string_view hex) {
  Digest digest{};
  if (hex.size() != 2 * digest.size()) return std::nullopt;
  for (std::size_t i = 0; i < digest.size(); ++i) {
    const int high = hex_value(hex[2 * i]);
    const int low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    digest[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return digest;
}

std::vector<std::string_view> split(std::string_view line, char separator) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t end = line.find(separator, start);
    parts.push_back(line.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::Read: return "read";
    case Role::Operate: return "operate";
    case Role::Admin: return "admin";
  }
  return "read";
}

bool role_allows(Role held, Role needed) { return static_cast<int>(held) >= static_cast<int>(needed); }

TokenStore TokenStore::parse(std::string_view text, const std::string& file) {
  TokenStore store;
  int number = 0;
  for (std::string_view line : split(text, '\n')) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const auto fail = [&](const std::string& problem) {
      return TokenFileError(file + ": line " + std::to_string(number) + ": " + problem);
    };
    const auto parts = split(line, ':');
    if (parts.size() != 4 || parts[2] != "sha256") {
      throw fail("expected NAME:ROLE:sha256:HEX (the SHA-256 of the token, never the token itself)");
    }
    if (!is_name(parts[0])) throw fail("a token name is 1 to 64 letters, digits, '.', '_' or '-'");
    const auto role = parse_role(parts[1]);
    if (!role) throw fail("expected the role read, operate or admin");
    const auto digest = parse_digest(parts[3]);
    if (!digest) throw fail("expected 64 hex digits after sha256:");
    for (const Token& token : store.tokens_) {
      if (token.name == parts[0]) throw fail("token name " + std::string(parts[0]) + " given twice");
    }
    store.tokens_.push_back({std::string(parts[0]), *role, *digest});
  }
  if (store.tokens_.empty()) throw TokenFileError(file + ": no token");
  return store;
}

TokenStore TokenStore::load(const std::string& path) {
  std::string text;
  try {
    text = schema::read_file(path);
  } catch (const std::system_error& e) {
    throw TokenFileError(path + ": cannot read: " + e.code().message());
  }
  return parse(text, path);
}

// Every line is compared, whatever matched before, so the time taken depends only on the count.
std::optional<Token> TokenStore::find(std::string_view bearer) const {
  const Digest presented = sha256(bearer);
  const Token* found = nullptr;
  for (const Token& token : tokens_) {
    const bool same = CRYPTO_memcmp(presented.data(), token.digest.data(), presented.size()) == 0;
    if (same && found == nullptr) found = &token;
  }
  if (found == nullptr) return std::nullopt;
  return *found;
}

std::string token_digest_hex(std::string_view text) { return schema::sha256_hex(text); }

}  // namespace postern::admin
