// CIDR networks: parsing and matching, the trusted_proxies of a listener.
#include "server/net/ip_network.hpp"

#include <gtest/gtest.h>

using postern::net::IpNetwork;

namespace {

bool contains(const char* cidr, const char* address) {
  const auto network = IpNetwork::parse(cidr);
  EXPECT_TRUE(network) << cidr;
  return network && network->contains(address);
}

}  // namespace

TEST(IpNetwork, Ipv4Prefixes) {
  EXPECT_TRUE(contains("10.0.0.0/8", "10.255.1.2"));
  EXPECT_FALSE(contains("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(contains("192.0.2.128/25", "192.0.2.200"));
  EXPECT_FALSE(contains("192.0.2.128/25", "192.0.2.127"));
  EXPECT_TRUE(contains("0.0.0.0/0", "203.0.113.9"));
}

TEST(IpNetwork, BareAddressIsItsOwnNetwork) {
  EXPECT_TRUE(contains("127.0.0.1", "127.0.0.1"));
  EXPECT_FALSE(contains("127.0.0.1", "127.0.0.5"));
  EXPECT_TRUE(contains("::1", "::1"));
}

TEST(IpNetwork, Ipv6Prefixes) {
  EXPECT_TRUE(contains("2001:db8::/32", "2001:db8:ffff::1"));
  EXPECT_FALSE(contains("2001:db8::/32", "2001:db9::1"));
  EXPECT_TRUE(contains("fd00::/7", "fdff::1"));
  EXPECT_FALSE(contains("fd00::/7", "fe00::1"));
}

TEST(IpNetwork, FamiliesDoNotMixButMappedIpv4CountsAsIpv4) {
  EXPECT_FALSE(contains("0.0.0.0/0", "::1"));
  EXPECT_FALSE(contains("::/0", "127.0.0.1"));
  EXPECT_TRUE(contains("127.0.0.0/8", "::ffff:127.0.0.1"));
}

TEST(IpNetwork, HostBitsAreIgnored) {
  EXPECT_EQ(IpNetwork::parse("10.1.2.3/8"), IpNetwork::parse("10.0.0.0/8"));
  EXPECT_TRUE(contains("10.1.2.3/8", "10.9.9.9"));
}

TEST(IpNetwork, NotAddressesAreNotContained) {
  EXPECT_FALSE(contains("0.0.0.0/0", "local"));
  EXPECT_FALSE(contains("0.0.0.0/0", "unknown"));
  EXPECT_FALSE(contains("0.0.0.0/0", ""));
}

TEST(IpNetwork, BadCidrsAreRefused) {
  for (const char* bad : {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/-1", "10.0.0/8",
                          "example.com", "10.0.0.0/8/8", "10.0.0.0 /8", "1.2.3.4/1x"}) {
    EXPECT_FALSE(IpNetwork::parse(bad)) << bad;
  }
}
