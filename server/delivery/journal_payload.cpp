// See journal_publish.hpp.
#include "server/delivery/journal_publish.hpp"

#include "server/smtp/base64.hpp"
#include "postern/schema/hex.hpp"

#include <nlohmann/json.hpp>

namespace postern::delivery {
namespace {

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
  payload += ",\"sha256\":\"" + schema::sha256_hex(message) + "\"}";
  return payload;
}

}  // namespace postern::delivery
