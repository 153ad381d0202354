// See webhook_url.hpp.
#include "server/webhooks/webhook_url.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace postern::webhooks {
namespace {

bool is_ipv6_literal(const std::string& host) {
  in6_addr address{};
  return inet_pton(AF_INET6, host.c_str(), &address) == 1;
}

bool valid_port(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  const long value = std::stol(std::string(port));
  return value >= 1 && value <= 65535;
}

bool valid_host_name(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == '_';
  });
}

std::string bracketed(const std::string& host) { return is_ipv6_literal(host) ? "[" + host + "]" : host; }

}  // namespace

std::string WebhookUrl::host_header() const {
  return port == (tls ? "443" : "80") ? bracketed(host) : bracketed(host) + ":" + port;
}

std::string WebhookUrl::origin() const { return (tls ? "https://" : "http://") + bracketed(host) + ":" + port; }

bool is_loopback_host(std::string_view host) {
  const std::string text(host);
  if (text == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, text.c_str(), &v6) == 1 && std::memcmp(&v6, &in6addr_loopback, sizeof v6) == 0;
}

WebhookUrl parse_webhook_url(std::string_view url) {
  WebhookUrl parsed;
  std::string_view rest;
  if (url.substr(0, 8) == "https://") {
    rest = url.substr(8);
  } else if (url.substr(0, 7) == "http://") {
    parsed.tls = false;
    rest = url.substr(7);
  } else {
    throw std::invalid_argument("must start with https:// (or http:// to a loopback address)");
  }
  const std::size_t path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  parsed.target = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (parsed.target.find('#') != std::string::npos) throw std::invalid_argument("must not have a fragment");
  if (parsed.target.front() != '/') parsed.target.insert(0, "/");
  if (parsed.target.find_first_of(" \t\r\n") != std::string::npos) {
    throw std::invalid_argument("must not contain spaces or line breaks");
  }
  if (authority.find('@') != std::string_view::npos) throw std::invalid_argument("must not carry credentials");
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("has an unclosed IPv6 literal");
    parsed.host = std::string(authority.substr(1, close - 1));
    if (!is_ipv6_literal(parsed.host)) throw std::invalid_argument("has an invalid IPv6 literal");
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') throw std::invalid_argument("has text after its IPv6 literal");
    if (!after.empty()) port = after.substr(1);
    if (after.size() == 1) throw std::invalid_argument("has an empty port");
  } else {
    const std::size_t colon = authority.rfind(':');
    parsed.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) throw std::invalid_argument("has an empty port");
    }
    if (!valid_host_name(parsed.host)) throw std::invalid_argument("has no valid host");
  }
  if (!port.empty() && !valid_port(port)) throw std::invalid_argument("has an invalid port");
  parsed.port = port.empty() ? (parsed.tls ? "443" : "80") : std::string(port);
  if (!parsed.tls && !is_loopback_host(parsed.host)) {
    throw std::invalid_argument("http:// only to a loopback address (127.0.0.0/8, ::1, localhost); use https://");
  }
  return parsed;
}

}  // namespace postern::webhooks
