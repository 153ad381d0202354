// See proxy_header.hpp.
#include "server/net/proxy_header.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace postern::net {
namespace {

constexpr std::string_view kV1Signature = "PROXY ";
constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr std::size_t kV2FixedLength = 16;  // signature, version and command, family, length

// `bytes` is not yet ruled out as the start of `signature`.
bool may_start(std::string_view bytes, std::string_view signature) {
  const std::size_t n = std::min(bytes.size(), signature.size());
  return bytes.substr(0, n) == signature.substr(0, n);
}

std::optional<std::string> address_text(int family, const void* binary) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (inet_ntop(family, binary, text.data(), text.size()) == nullptr) return std::nullopt;
  std::string address = text.data();
  // An IPv4 client of a dual-stack balancer: named as IPv4, as the rest of the server does.
  constexpr std::string_view kMapped = "::ffff:";
  if (family == AF_INET6 && address.starts_with(kMapped) && address.find('.') != std::string::npos) {
    address.erase(0, kMapped.size());
  }
  return address;
}

std::vector<std::string_view> split_spaces(std::string_view text) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t space = text.find(' ', start);
    fields.push_back(text.substr(start, space - start));
    if (space == std::string_view::npos) return fields;
    start = space + 1;
  }
}

// Decimal 0..65535, no sign, no leading zero (the specification's form).
std::optional<std::uint16_t> port_number(std::string_view text) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text.front() == '0')) return std::nullopt;
  unsigned value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::optional<std::string> v1_address(std::string_view text, int family) {
  std::array<unsigned char, 16> binary{};
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string terminated{text};
  if (inet_pton(family, terminated.c_str(), binary.data()) != 1) return std::nullopt;
  return address_text(family, binary.data());
}

bool is_printable(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
  }
  return true;
}

ProxyParse parse_v1(std::string_view bytes) {
  const std::size_t end = bytes.find("\r\n");
  if (end == std::string_view::npos) {
    if (bytes.size() >= kProxyV1MaxLength) return ProxyHeaderError{"v1 header longer than 107 bytes"};
    const bool ends_in_cr = bytes.back() == '\r';  // its LF may come next
    if (!is_printable(bytes.substr(0, bytes.size() - (ends_in_cr ? 1 : 0)))) {
      return ProxyHeaderError{"v1 header with a control character"};
    }
    return ProxyNeedMore{bytes.size() + 1};
  }
  const std::size_t length = end + 2;
  if (length > kProxyV1MaxLength) return ProxyHeaderError{"v1 header longer than 107 bytes"};
  if (!is_printable(bytes.substr(0, end))) return ProxyHeaderError{"v1 header with a control character"};
  if (length != bytes.size()) return ProxyHeaderError{"bytes past the v1 header"};  // the reader's contract
  const std::string_view line = bytes.substr(kV1Signature.size(), end - kV1Signature.size());
  const auto fields = split_spaces(line);
  ProxyHeader header;
  header.length = length;
  if (fields.front() == "UNKNOWN") return header;  // the rest of the line is to be ignored
  int family = 0;
  if (fields.front() == "TCP4") family = AF_INET;
  else if (fields.front() == "TCP6") family = AF_INET6;
  else return ProxyHeaderError{"v1 protocol is not TCP4, TCP6 or UNKNOWN"};
  if (fields.size() != 5) return ProxyHeaderError{"v1 header does not have 4 addresses and ports"};
  auto source = v1_address(fields[1], family);
  const auto destination = v1_address(fields[2], family);
  if (!source || !destination) return ProxyHeaderError{"v1 address is not a " + std::string(fields.front()) + " address"};
  const auto source_port = port_number(fields[3]);
  if (!source_port || !port_number(fields[4])) return ProxyHeaderError{"v1 port is not a number from 0 to 65535"};
  header.source_address = std::move(source);
  header.source_port = *source_port;
  return header;
}

std::uint16_t big_endian16(const unsigned char* bytes) {
  return static_cast<std::uint16_t>((bytes[0] << 8) | bytes[1]);
}

ProxyParse parse_v2(std::string_view bytes) {
  if (bytes.size() < kV2FixedLength) return ProxyNeedMore{kV2FixedLength};
  const auto* raw = reinterpret_cast<const unsigned char*>(bytes.data());
  const unsigned version = raw[12] >> 4;
  const unsigned command = raw[12] & 0x0f;
  if (version != 2) return ProxyHeaderError{"v2 header with version " + std::to_string(version)};
  if (command > 1) return ProxyHeaderError{"v2 command is neither LOCAL nor PROXY"};
  const std::size_t length = kV2FixedLength + big_endian16(raw + 14);
  if (bytes.size() < length) return ProxyNeedMore{length};
  if (bytes.size() > length) return ProxyHeaderError{"bytes past the v2 header"};  // the reader's contract
  ProxyHeader header;
  header.length = length;
  if (command == 0) {
    header.command = ProxyHeader::Command::Local;
    return header;
  }
  const unsigned family = raw[13] >> 4;
  const unsigned transport = raw[13] & 0x0f;
  constexpr unsigned kInet = 1, kInet6 = 2, kStream = 1;
  if (transport != kStream || (family != kInet && family != kInet6)) return header;  // UNSPEC, UNIX, UDP
  const std::size_t address_size = family == kInet ? 4 : 16;
  const std::size_t addresses_length = 2 * address_size + 4;
  if (length - kV2FixedLength < addresses_length) return ProxyHeaderError{"v2 header too short for its addresses"};
  const unsigned char* source = raw + kV2FixedLength;
  header.source_address = address_text(family == kInet ? AF_INET : AF_INET6, source);
  header.source_port = big_endian16(source + 2 * address_size);
  return header;  // TLVs, if any, follow the addresses: skipped
}

}  // namespace

ProxyParse parse_proxy_header(std::string_view bytes) {
  if (bytes.empty()) return ProxyNeedMore{1};
  if (may_start(bytes, kV1Signature)) {
    if (bytes.size() < kV1Signature.size()) return ProxyNeedMore{bytes.size() + 1};
    return parse_v1(bytes);
  }
  if (may_start(bytes, kV2Signature)) {
    if (bytes.size() < kV2Signature.size()) return ProxyNeedMore{kV2FixedLength};
    return parse_v2(bytes);
  }
  return ProxyHeaderError{bytes.front() == 'P' || bytes.front() == '\r' ? "bad PROXY signature" : "no PROXY header"};
}

}  // namespace postern::net
