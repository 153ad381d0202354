// See ip_network.hpp.
#include "server/net/ip_network.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace postern::net {
namespace {

struct Address {
  bool v4;
  std::array<unsigned char, 16> bytes;
};

std::optional<Address> parse_address(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string terminated{text};
  Address address{true, {}};
  if (inet_pton(AF_INET, terminated.c_str(), address.bytes.data()) == 1) return address;
  address.v4 = false;
  if (inet_pton(AF_INET6, terminated.c_str(), address.bytes.data()) != 1) return std::nullopt;
  return address;
}

// ::ffff:a.b.c.d as a.b.c.d.
Address unmapped(Address address) {
  constexpr std::array<unsigned char, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (address.v4 || !std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), address.bytes.begin())) return address;
  Address v4{true, {}};
  std::copy_n(address.bytes.begin() + 12, 4, v4.bytes.begin());
  return v4;
}

bool same_prefix(const std::array<unsigned char, 16>& a, const std::array<unsigned char, 16>& b, unsigned bits) {
  const unsigned whole = bits / 8;
  if (!std::equal(a.begin(), a.begin() + whole, b.begin())) return false;
  const unsigned rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

std::optional<IpNetwork> IpNetwork::parse(std::string_view cidr) {
  const std::size_t slash = cidr.find('/');
  const auto address = parse_address(cidr.substr(0, slash));
  if (!address) return std::nullopt;
  const unsigned max_prefix = address->v4 ? 32 : 128;
  unsigned prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = cidr.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits.front() == '0')) return std::nullopt;
    prefix = 0;
    for (const char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (prefix > max_prefix) return std::nullopt;
  }
  IpNetwork network;
  network.v4_ = address->v4;
  network.prefix_ = prefix;
  // Host bits cleared, so that 10.1.2.3/8 and 10.0.0.0/8 are the same network.
  network.bytes_ = address->bytes;
  for (unsigned bit = prefix; bit < max_prefix; ++bit) {
    network.bytes_[bit / 8] = static_cast<unsigned char>(network.bytes_[bit / 8] & ~(0x80u >> (bit % 8)));
  }
  return network;
}

bool IpNetwork::contains(std::string_view text) const {
  const auto address = parse_address(text);
  if (!address) return false;
  const Address plain = unmapped(*address);
  return plain.v4 == v4_ && same_prefix(plain.bytes, bytes_, prefix_);
}

bool any_contains(const std::vector<IpNetwork>& networks, std::string_view address) {
  return std::any_of(networks.begin(), networks.end(),
                     [address](const IpNetwork& network) { return network.contains(address); });
}

}  // namespace postern::net
