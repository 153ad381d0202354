// An IPv4 or IPv6 network in CIDR notation ("10.0.0.0/8", "2001:db8::/32"; a bare address is
// its own /32 or /128), and whether an address lies in it: the trusted_proxies of a listener.
// Pure: no sockets, so the configuration checks its values with it.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::net {

class IpNetwork {
 public:
  // nullopt when `cidr` is not an address with an optional /prefix within its family's bits.
  static std::optional<IpNetwork> parse(std::string_view cidr);

  // `address` as text; an IPv4-mapped IPv6 address counts as IPv4. False for anything that is
  // not an address ("local", "unknown").
  bool contains(std::string_view address) const;

  friend bool operator==(const IpNetwork&, const IpNetwork&) = default;

 private:
  bool v4_ = true;
  std::array<unsigned char, 16> bytes_{};  // IPv4: the first 4; bits past the prefix cleared
  unsigned prefix_ = 0;
};

// Whether any of `networks` holds `address`.
bool any_contains(const std::vector<IpNetwork>& networks, std::string_view address);

}  // namespace postern::net
