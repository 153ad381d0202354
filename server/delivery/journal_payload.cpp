// See journal_publish.hpp.
#include "server/delivery/journal_publish.hpp"

#include "server/smtp/base64.hpp"

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <stdexcept>

namespace postern::delivery {
namespace {

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0x0F];
  }
  return hex;
}

// The JSON text of `text`: nlohmann's own escaping, invalid UTF-8 replaced by U+FFFD; `valid`
// says whether anything was replaced.
std::string json_string(std::string_view text, bool& valid) {
  const nlohmann::json value = std::string(text);
  std::string strict;
  try {
    strict = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    valid = true;
    return strict;
  } catch (const nlohmann::json::type_error&) {
    valid = false;
  }
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string journal_payload(std::string_view message, JournalFormat format) {
  if (format == JournalFormat::Raw) return std::string(message);
  bool valid = true;
  std::string payload = "{\"msg\":" + json_string(message, valid);
  if (!valid) payload += ",\"msg_base64\":\"" + smtp::base64_encode(message) + "\"";
  payload += ",\"sha256\":\"" + sha256_hex(message) + "\"}";
  return payload;
}

}  // namespace postern::delivery
