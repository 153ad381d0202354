// An endpoint's URL (webhooks.endpoints[].url), split into what the poster connects to and what
// its requests name. Only https://, or http:// to a loopback host (127.0.0.0/8, ::1, localhost):
// an event is never sent in clear over a network. Used by the config check and the poster.
//
//   WebhookUrl url = parse_webhook_url("https://hooks.example.com:8443/postern");  // throws
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace postern::webhooks {

struct WebhookUrl {
  bool tls = true;
  std::string host;    // a name or an IP address, without an IPv6 literal's brackets
  std::string port;    // "443" or "80" when the URL names none
  std::string target;  // the path and query, "/" when the URL has none
  // What the Host header says: the host (bracketed when IPv6) and the port when not the default.
  std::string host_header() const;
  // "https://host:port", the port always shown: where events go, without the path and query
  // (which may carry a token), for logs and the start-up line.
  std::string origin() const;
};

// Throws std::invalid_argument saying what is wrong ("must start with https://", "http:// only to
// a loopback address", ...).
WebhookUrl parse_webhook_url(std::string_view url);

// 127.0.0.0/8, ::1 or "localhost".
bool is_loopback_host(std::string_view host);

}  // namespace postern::webhooks
