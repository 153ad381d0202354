#include "shares/share_group_id.hpp"

#include "shares/sodium_ready.hpp"

#include <sodium.h>

namespace postern::shares {
namespace {

constexpr std::string_view kGroupIdContext = "postern share-group id v1";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string ShareGroupId::hex() const {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  for (const std::uint8_t byte : bytes) {
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0xF];
  }
  return out;
}

ShareGroupId derive_group_id(const Seed& group_seed) {
  ensure_sodium_ready();
  ShareGroupId id;
  crypto_generichash(id.bytes.data(), id.bytes.size(),
                     reinterpret_cast<const unsigned char*>(kGroupIdContext.data()),
                     kGroupIdContext.size(), group_seed.data(), group_seed.size());
  return id;
}

std::optional<ShareGroupId> parse_share_group_id(std::string_view text) {
  ShareGroupId id;
  if (text.size() != 2 * id.bytes.size()) return std::nullopt;
  for (std::size_t i = 0; i < id.bytes.size(); ++i) {
    const int high = hex_value(text[2 * i]);
    const int low = hex_value(text[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    id.bytes[i] = static_cast<std::uint8_t>(high << 4 | low);
  }
  return id;
}

}  // namespace postern::shares
