#include "shares/base64_lines.hpp"

#include <array>

namespace postern::shares {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::size_t kLineBytes = kBase64LineLength / 4 * 3;  // 57

constexpr int kSkip = -2;
constexpr int kInvalid = -1;

constexpr std::array<int, 256> make_decoding_table() {
  std::array<int, 256> table{};
  for (int& entry : table) entry = kInvalid;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  for (const char c : {'\r', '\n', ' ', '\t'}) table[static_cast<unsigned char>(c)] = kSkip;
  return table;
}

constexpr std::array<int, 256> kDecodingTable = make_decoding_table();

// Encodes whole 3-byte groups, and a last short group with padding.
void encode_groups(std::string_view bytes, std::string& out) {
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t bits = (static_cast<std::uint8_t>(bytes[i]) << 16) |
                               (static_cast<std::uint8_t>(bytes[i + 1]) << 8) |
                               static_cast<std::uint8_t>(bytes[i + 2]);
    out += kAlphabet[(bits >> 18) & 63];
    out += kAlphabet[(bits >> 12) & 63];
    out += kAlphabet[(bits >> 6) & 63];
    out += kAlphabet[bits & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 0) return;
  std::uint32_t bits = static_cast<std::uint8_t>(bytes[i]) << 16;
  if (rest == 2) bits |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
  out += kAlphabet[(bits >> 18) & 63];
  out += kAlphabet[(bits >> 12) & 63];
  out += rest == 2 ? kAlphabet[(bits >> 6) & 63] : '=';
  out += '=';
}

}  // namespace

std::string Base64LineEncoder::encode(std::string_view bytes) {
  std::string out;
  // Top up the waiting bytes to a whole line first, then go line by line through the rest.
  if (!pending_.empty()) {
    const std::size_t take = std::min(kLineBytes - pending_.size(), bytes.size());
    pending_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (pending_.size() < kLineBytes) return out;
    encode_groups(pending_, out);
    out += "\r\n";
    pending_.clear();
  }
  out.reserve(out.size() + bytes.size() / kLineBytes * (kBase64LineLength + 2));
  while (bytes.size() >= kLineBytes) {
    encode_groups(bytes.substr(0, kLineBytes), out);
    out += "\r\n";
    bytes.remove_prefix(kLineBytes);
  }
  pending_.assign(bytes);
  return out;
}

std::string Base64LineEncoder::finish() {
  std::string out;
  if (pending_.empty()) return out;
  encode_groups(pending_, out);
  out += "\r\n";
  pending_.clear();
  return out;
}

std::uint64_t Base64LineEncoder::encoded_size(std::uint64_t byte_count) {
  const std::uint64_t characters = (byte_count + 2) / 3 * 4;
  const std::uint64_t lines = (characters + kBase64LineLength - 1) / kBase64LineLength;
  return characters + 2 * lines;
}

std::string encode_base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  encode_groups(bytes, out);
  return out;
}

std::optional<std::string> decode_base64_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t bits = 0;
  int sextets = 0;   // in the current quantum
  int padding = 0;   // '=' seen so far
  for (const char c : text) {
    const int value = kDecodingTable[static_cast<unsigned char>(c)];
    if (value == kSkip) continue;
    if (c == '=') {
      // Padding fills the end of the last quantum: after two or three sextets.
      if (sextets + padding < 2 || sextets + padding >= 4) return std::nullopt;
      ++padding;
      continue;
    }
    if (value == kInvalid || padding > 0) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    if (++sextets == 4) {
      out += static_cast<char>((bits >> 16) & 0xFF);
      out += static_cast<char>((bits >> 8) & 0xFF);
      out += static_cast<char>(bits & 0xFF);
      bits = 0;
      sextets = 0;
    }
  }
  if (padding == 0) return sextets == 0 ? std::optional(out) : std::nullopt;
  if (sextets + padding != 4) return std::nullopt;
  if (sextets == 2) {  // one byte; the low 4 bits of the second sextet must be zero
    if (bits & 0xF) return std::nullopt;
    out += static_cast<char>((bits >> 4) & 0xFF);
  } else {  // three sextets, two bytes; the low 2 bits must be zero
    if (bits & 0x3) return std::nullopt;
    out += static_cast<char>((bits >> 10) & 0xFF);
    out += static_cast<char>((bits >> 2) & 0xFF);
  }
  return out;
}

}  // namespace postern::shares
