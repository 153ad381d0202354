// The PROXY protocol header parser, v1 and v2.
#include "server/net/proxy_header.hpp"

#include <gtest/gtest.h>

#include <string>
#include <variant>

using namespace postern::net;

namespace {

ProxyHeader parsed(const std::string& bytes) {
  auto result = parse_proxy_header(bytes);
  if (auto* error = std::get_if<ProxyHeaderError>(&result)) ADD_FAILURE() << error->reason;
  if (std::holds_alternative<ProxyNeedMore>(result)) ADD_FAILURE() << "needs more";
  return std::holds_alternative<ProxyHeader>(result) ? std::get<ProxyHeader>(result) : ProxyHeader{};
}

std::string error_of(const std::string& bytes) {
  auto result = parse_proxy_header(bytes);
  if (auto* error = std::get_if<ProxyHeaderError>(&result)) return error->reason;
  ADD_FAILURE() << "no error for " << bytes;
  return "";
}

std::size_t needed(const std::string& bytes) {
  auto result = parse_proxy_header(bytes);
  if (auto* need = std::get_if<ProxyNeedMore>(&result)) return need->total;
  ADD_FAILURE() << "does not need more";
  return 0;
}

// Feeds the header the way the reader does, asking only for what the parser asks for: the
// header must come out having used exactly its bytes.
ProxyParse fed(const std::string& stream) {
  std::string bytes;
  for (;;) {
    auto result = parse_proxy_header(bytes);
    auto* need = std::get_if<ProxyNeedMore>(&result);
    if (need == nullptr) return result;
    EXPECT_GT(need->total, bytes.size());
    if (need->total > stream.size()) return result;
    bytes = stream.substr(0, need->total);
  }
}

const std::string kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};

std::string v2(unsigned char version_command, unsigned char family, const std::string& body) {
  std::string header = kV2Signature;
  header += static_cast<char>(version_command);
  header += static_cast<char>(family);
  header += static_cast<char>(body.size() >> 8);
  header += static_cast<char>(body.size() & 0xff);
  return header + body;
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += static_cast<char>(v);
  return out;
}

const std::string kIpv4Addresses = bytes({192, 0, 2, 7, 10, 0, 0, 1, 0xc3, 0x50, 0x02, 0x4b});  // ports 50000, 587
const std::string kIpv6Addresses =
    bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05,
           0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x19, 0x02, 0x4b});
const std::string kTlvs = bytes({0x01, 0x00, 0x02, 'h', '2', 0x04, 0x00, 0x00});  // ALPN, NOOP

}  // namespace

TEST(ProxyHeaderV1, Tcp4) {
  const auto header = parsed("PROXY TCP4 192.0.2.7 10.0.0.1 50000 587\r\n");
  EXPECT_EQ(header.command, ProxyHeader::Command::Proxy);
  EXPECT_EQ(header.source_address, "192.0.2.7");
  EXPECT_EQ(header.source_port, 50000);
  EXPECT_EQ(header.length, 41u);
}

TEST(ProxyHeaderV1, Tcp6) {
  const auto header = parsed("PROXY TCP6 2001:db8::5 2001:db8::1 65535 0\r\n");
  EXPECT_EQ(header.source_address, "2001:db8::5");
  EXPECT_EQ(header.source_port, 65535);
}

TEST(ProxyHeaderV1, Tcp6WithAMappedIpv4AddressNamesIpv4) {
  EXPECT_EQ(parsed("PROXY TCP6 ::ffff:192.0.2.7 ::1 1 2\r\n").source_address, "192.0.2.7");
}

TEST(ProxyHeaderV1, UnknownKeepsTheProxysAddress) {
  EXPECT_EQ(parsed("PROXY UNKNOWN\r\n").source_address, std::nullopt);
  EXPECT_EQ(parsed("PROXY UNKNOWN ffff:f::1 ffff:f::2 1 2\r\n").source_address, std::nullopt);
}

TEST(ProxyHeaderV1, LongestHeadersAreAccepted) {
  const std::string addresses = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
  EXPECT_EQ(parsed("PROXY TCP6 " + addresses).source_port, 65535);
  const std::string longest = "PROXY UNKNOWN " + addresses;
  ASSERT_EQ(longest.size(), kProxyV1MaxLength);
  EXPECT_EQ(parsed(longest).length, kProxyV1MaxLength);
}

TEST(ProxyHeaderV1, AsksForOneByteAtATimeUpToTheLineEnd) {
  EXPECT_EQ(needed(""), 1u);
  EXPECT_EQ(needed("P"), 2u);
  EXPECT_EQ(needed("PROXY"), 6u);
  EXPECT_EQ(needed("PROXY TCP4 192.0.2.7"), 21u);
  EXPECT_EQ(needed("PROXY UNKNOWN\r"), 15u);
}

TEST(ProxyHeaderV1, FedByteByByteUsesExactlyTheHeader) {
  auto result = fed("PROXY TCP4 192.0.2.7 10.0.0.1 50000 587\r\nEHLO client\r\n");
  ASSERT_TRUE(std::holds_alternative<ProxyHeader>(result));
  EXPECT_EQ(std::get<ProxyHeader>(result).length, 41u);
}

TEST(ProxyHeaderV1, TooLongIsRefused) {
  EXPECT_EQ(error_of("PROXY UNKNOWN " + std::string(93, 'x')), "v1 header longer than 107 bytes");
  EXPECT_EQ(error_of("PROXY UNKNOWN " + std::string(92, 'x') + "\r\n"), "v1 header longer than 107 bytes");
}

TEST(ProxyHeaderV1, BadSignatureOrProtocolIsRefused) {
  EXPECT_EQ(error_of("PROXX"), "bad PROXY signature");
  EXPECT_EQ(error_of("EHLO"), "no PROXY header");
  EXPECT_EQ(error_of("PROXY UDP4 192.0.2.7 10.0.0.1 1 2\r\n"), "v1 protocol is not TCP4, TCP6 or UNKNOWN");
  EXPECT_EQ(error_of("PROXY \r\n"), "v1 protocol is not TCP4, TCP6 or UNKNOWN");
}

TEST(ProxyHeaderV1, BadAddressesAreRefused) {
  EXPECT_EQ(error_of("PROXY TCP4 2001:db8::5 10.0.0.1 1 2\r\n"), "v1 address is not a TCP4 address");
  EXPECT_EQ(error_of("PROXY TCP6 192.0.2.7 2001:db8::1 1 2\r\n"), "v1 address is not a TCP6 address");
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.256 10.0.0.1 1 2\r\n"), "v1 address is not a TCP4 address");
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.7  10.0.0.1 1 2\r\n"), "v1 header does not have 4 addresses and ports");
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.7 10.0.0.1 1\r\n"), "v1 header does not have 4 addresses and ports");
}

TEST(ProxyHeaderV1, BadPortsAreRefused) {
  for (const char* port : {"65536", "-1", "+1", "01", "1a", "", "999999"}) {
    EXPECT_EQ(error_of(std::string("PROXY TCP4 192.0.2.7 10.0.0.1 ") + port + " 587\r\n"),
              "v1 port is not a number from 0 to 65535")
        << port;
  }
  EXPECT_EQ(error_of("PROXY TCP4 192.0.2.7 10.0.0.1 587 65536\r\n"), "v1 port is not a number from 0 to 65535");
}

TEST(ProxyHeaderV1, ControlCharactersAreRefused) {
  EXPECT_EQ(error_of(std::string("PROXY TCP4\0", 11)), "v1 header with a control character");
  EXPECT_EQ(error_of("PROXY TCP4\n"), "v1 header with a control character");
  EXPECT_EQ(error_of("PROXY TCP4\rx"), "v1 header with a control character");
}

TEST(ProxyHeaderV2, ProxyOverIpv4) {
  const auto header = parsed(v2(0x21, 0x11, kIpv4Addresses));
  EXPECT_EQ(header.command, ProxyHeader::Command::Proxy);
  EXPECT_EQ(header.source_address, "192.0.2.7");
  EXPECT_EQ(header.source_port, 50000);
  EXPECT_EQ(header.length, 28u);
}

TEST(ProxyHeaderV2, ProxyOverIpv6WithTlvsSkipsThem) {
  const auto header = parsed(v2(0x21, 0x21, kIpv6Addresses + kTlvs));
  EXPECT_EQ(header.source_address, "2001:db8::5");
  EXPECT_EQ(header.source_port, 25);
  EXPECT_EQ(header.length, 16u + 36u + kTlvs.size());
}

TEST(ProxyHeaderV2, LocalKeepsTheProxysAddress) {
  const auto header = parsed(v2(0x20, 0x11, kIpv4Addresses + kTlvs));
  EXPECT_EQ(header.command, ProxyHeader::Command::Local);
  EXPECT_EQ(header.source_address, std::nullopt);
  EXPECT_EQ(parsed(v2(0x20, 0x00, "")).command, ProxyHeader::Command::Local);
}

TEST(ProxyHeaderV2, UnspecifiedUnixAndUdpKeepTheProxysAddress) {
  EXPECT_EQ(parsed(v2(0x21, 0x00, "")).source_address, std::nullopt);
  EXPECT_EQ(parsed(v2(0x21, 0x31, std::string(216, 'x'))).source_address, std::nullopt);
  EXPECT_EQ(parsed(v2(0x21, 0x12, kIpv4Addresses)).source_address, std::nullopt);
}

TEST(ProxyHeaderV2, AsksForTheFixedPartThenTheDeclaredLength) {
  const std::string header = v2(0x21, 0x21, kIpv6Addresses + kTlvs);
  EXPECT_EQ(needed("\r"), 16u);
  EXPECT_EQ(needed(header.substr(0, 12)), 16u);
  EXPECT_EQ(needed(header.substr(0, 16)), header.size());
  EXPECT_EQ(needed(header.substr(0, header.size() - 1)), header.size());
  auto result = fed(header + "\x16\x03\x01");  // a TLS ClientHello follows
  ASSERT_TRUE(std::holds_alternative<ProxyHeader>(result));
  EXPECT_EQ(std::get<ProxyHeader>(result).length, header.size());
}

TEST(ProxyHeaderV2, BadSignatureVersionOrCommandIsRefused) {
  std::string bad_signature = v2(0x21, 0x11, kIpv4Addresses);
  bad_signature[6] = 'X';
  EXPECT_EQ(error_of(bad_signature.substr(0, 16)), "bad PROXY signature");
  EXPECT_EQ(error_of(v2(0x11, 0x11, kIpv4Addresses)), "v2 header with version 1");
  EXPECT_EQ(error_of(v2(0x22, 0x11, kIpv4Addresses)), "v2 command is neither LOCAL nor PROXY");
}

TEST(ProxyHeaderV2, AddressesLongerThanTheHeaderAreRefused) {
  EXPECT_EQ(error_of(v2(0x21, 0x11, kIpv4Addresses.substr(0, 11))), "v2 header too short for its addresses");
  EXPECT_EQ(error_of(v2(0x21, 0x21, kIpv4Addresses)), "v2 header too short for its addresses");
}

TEST(ProxyHeaderV2, TruncatedHeaderNeedsMore) {
  const std::string header = v2(0x21, 0x11, kIpv4Addresses);
  for (std::size_t n = 1; n < header.size(); ++n) {
    EXPECT_TRUE(std::holds_alternative<ProxyNeedMore>(parse_proxy_header(header.substr(0, n)))) << n;
  }
}
