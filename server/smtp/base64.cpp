#include "server/smtp/base64.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace smtp {
namespace {

constexpr int kInvalid = -1;
constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int, 256> make_decoding_table() {
  std::array<int, 256> table{};
  for (int& entry : table) entry = kInvalid;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  }
  return table;
}

constexpr std::array<int, 256> kDecodingTable = make_decoding_table();

int sextet(char c) { return kDecodingTable[static_cast<unsigned char>(c)]; }

}  // namespace

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t pos = 0; pos < text.size(); pos += 4) {
    const bool last_quantum = pos + 4 == text.size();
    const std::string_view quantum = text.substr(pos, 4);
    // Padding may only end the final quantum: "xx==" or "xxx=".
    std::size_t padding = 0;
    if (last_quantum && quantum[3] == '=') padding = (quantum[2] == '=') ? 2 : 1;

    std::uint32_t bits = 0;
    for (std::size_t i = 0; i < 4 - padding; ++i) {
      const int value = sextet(quantum[i]);
      if (value == kInvalid) return std::nullopt;
      bits = (bits << 6) | static_cast<std::uint32_t>(value);
    }
    bits <<= 6 * padding;

    // Non-canonical encodings carry data in the padding bits; refuse them (RFC 4648 §3.5).
    if (padding == 1 && (bits & 0xFF) != 0) return std::nullopt;
    if (padding == 2 && (bits & 0xFFFF) != 0) return std::nullopt;

    out += static_cast<char>((bits >> 16) & 0xFF);
    if (padding < 2) out += static_cast<char>((bits >> 8) & 0xFF);
    if (padding < 1) out += static_cast<char>(bits & 0xFF);
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t pos = 0; pos < bytes.size(); pos += 3) {
    const std::size_t count = std::min<std::size_t>(3, bytes.size() - pos);
    std::uint32_t bits = 0;
    for (std::size_t i = 0; i < 3; ++i) {
      bits = (bits << 8) | (i < count ? static_cast<unsigned char>(bytes[pos + i]) : 0u);
    }
    for (std::size_t i = 0; i < 4; ++i) {
      out += i <= count ? kAlphabet[(bits >> (18 - 6 * i)) & 63] : '=';
    }
  }
  return out;
}

}  // namespace smtp
