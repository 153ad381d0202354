// See capabilities.hpp.
#include "server/smtp_client/capabilities.hpp"

#include "server/smtp/ascii.hpp"

#include <algorithm>
#include <charconv>

namespace smtp_client {
namespace {

// Words separated by spaces or tabs.
std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

// RFC 1870 §4: "SIZE" alone, or "SIZE n" with n = 0 meaning no fixed limit.
std::uint64_t size_limit(const std::vector<std::string_view>& params) {
  if (params.empty()) return 0;
  std::uint64_t value = 0;
  const std::string_view text = params.front();
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size() ? value : 0;
}

}  // namespace

bool Capabilities::offers_auth(std::string_view mechanism) const {
  return std::find(auth.begin(), auth.end(), smtp::to_ascii_upper(mechanism)) != auth.end();
}

Capabilities parse_ehlo(const smtp::Reply& reply) {
  Capabilities caps;
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    const auto parts = words(reply.lines[i]);
    if (parts.empty()) continue;
    std::string keyword = smtp::to_ascii_upper(parts.front());
    std::vector<std::string_view> params(parts.begin() + 1, parts.end());
    // The pre-RFC 2554 form "AUTH=LOGIN PLAIN", still sent by some servers for old clients.
    if (keyword.rfind("AUTH=", 0) == 0) {
      const std::string_view first = parts.front().substr(5);
      if (!first.empty()) params.insert(params.begin(), first);
      keyword = "AUTH";
    }
    if (keyword == "PIPELINING") caps.pipelining = true;
    else if (keyword == "8BITMIME") caps.eight_bit_mime = true;
    else if (keyword == "SMTPUTF8") caps.smtputf8 = true;
    else if (keyword == "STARTTLS") caps.starttls = true;
    else if (keyword == "ENHANCEDSTATUSCODES") caps.enhanced_status_codes = true;
    else if (keyword == "SIZE") {
      caps.size = true;
      caps.max_size = size_limit(params);
    } else if (keyword == "AUTH") {
      for (const std::string_view mechanism : params) {
        std::string name = smtp::to_ascii_upper(mechanism);
        if (std::find(caps.auth.begin(), caps.auth.end(), name) == caps.auth.end()) caps.auth.push_back(name);
      }
    }
  }
  return caps;
}

}  // namespace smtp_client
