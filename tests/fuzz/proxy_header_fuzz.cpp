// The PROXY protocol header parser with arbitrary bytes, fed as the reader feeds it (only as
// many bytes as it asks for), and checks what it promises: it always asks for more than it
// has, a parsed header used exactly the bytes given, a v1 header is at most 107 bytes, and an
// address it names is one inet_pton reads back.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "server/net/proxy_header.hpp"

namespace {

void check(bool invariant) {
  if (!invariant) std::abort();
}

bool is_address(const std::string& text) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 || inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view stream(reinterpret_cast<const char*>(data), size);
  std::string_view bytes;
  for (;;) {
    const auto result = postern::net::parse_proxy_header(bytes);
    if (const auto* need = std::get_if<postern::net::ProxyNeedMore>(&result)) {
      check(need->total > bytes.size());
      if (need->total > stream.size()) return 0;
      bytes = stream.substr(0, need->total);
      continue;
    }
    if (const auto* header = std::get_if<postern::net::ProxyHeader>(&result)) {
      check(header->length == bytes.size());
      if (bytes.front() == 'P') check(header->length <= postern::net::kProxyV1MaxLength);
      if (header->source_address) check(is_address(*header->source_address));
      if (header->command == postern::net::ProxyHeader::Command::Local) check(!header->source_address);
    }
    return 0;
  }
}
