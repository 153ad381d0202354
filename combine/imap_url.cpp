#include "combine/imap_url.hpp"

#include <charconv>

namespace postern::combine {
namespace {

constexpr std::string_view kScheme = "imaps://";

bool is_unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || hex_digit(text[i + 1]) < 0 || hex_digit(text[i + 2]) < 0) return std::nullopt;
    out += static_cast<char>(hex_digit(text[i + 1]) << 4 | hex_digit(text[i + 2]));
    i += 2;
  }
  return out;
}

// Percent-encodes all but unreserved characters and those in `keep`.
std::string percent_encode(std::string_view text, std::string_view keep) {
  constexpr std::string_view kDigits = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    if (is_unreserved(c) || keep.find(c) != std::string_view::npos) {
      out += c;
    } else {
      out += '%';
      out += kDigits[static_cast<unsigned char>(c) >> 4];
      out += kDigits[static_cast<unsigned char>(c) & 0xF];
    }
  }
  return out;
}

bool lower_equals(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] - 'A' + 'a') : text[i];
    if (c != lower[i]) return false;
  }
  return true;
}

ImapUrlParse refuse(std::string why) { return ImapUrlParse{std::nullopt, std::move(why)}; }

}  // namespace

std::string ImapMailboxUrl::display() const {
  return std::string(kScheme) + percent_encode(user, "") + "@" + host + ":" + std::to_string(port) + "/" +
         percent_encode(mailbox, "/");
}

std::string ImapMailboxUrl::curl_url() const {
  return std::string(kScheme) + host + ":" + std::to_string(port) + "/" + percent_encode(mailbox, "/");
}

ImapUrlParse parse_imap_url(std::string_view text) {
  const std::string shown = "\"" + std::string(text.substr(0, 200)) + "\"";
  if (text.size() < kScheme.size() || !lower_equals(text.substr(0, kScheme.size()), kScheme)) {
    return refuse(shown + " is not an imaps:// URL (imaps://user@host[:port]/MAILBOX)");
  }
  const std::string_view rest = text.substr(kScheme.size());
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (text.find_first_of(" \t\r\n?#") != std::string_view::npos) {
    return refuse(shown + ": a URL has no white space, query or fragment");
  }

  const std::size_t at = authority.rfind('@');
  if (at == std::string_view::npos || at == 0) return refuse(shown + " names no user (imaps://user@host/MAILBOX)");
  const std::string_view userinfo = authority.substr(0, at);
  if (userinfo.find(':') != std::string_view::npos) {
    return refuse(shown + " holds a password: give it with --imap-password-file or POSTERN_IMAP_PASSWORD instead");
  }
  ImapMailboxUrl url;
  const std::optional<std::string> user = percent_decode(userinfo);
  if (!user || user->empty()) return refuse(shown + ": the user name is malformed");
  url.user = *user;

  std::string_view host_port = authority.substr(at + 1);
  std::string_view port;
  if (host_port.starts_with("[")) {
    const std::size_t close = host_port.find(']');
    if (close == std::string_view::npos) return refuse(shown + ": an IPv6 address lacks its \"]\"");
    port = host_port.substr(close + 1);
    host_port = host_port.substr(0, close + 1);
    if (!port.empty() && !port.starts_with(":")) return refuse(shown + ": text after the IPv6 address");
    if (!port.empty()) port.remove_prefix(1);
  } else if (const std::size_t colon = host_port.find(':'); colon != std::string_view::npos) {
    port = host_port.substr(colon + 1);
    host_port = host_port.substr(0, colon);
  }
  if (host_port.empty() || (!host_port.starts_with("[") && host_port.find_first_of("%@;[]") != std::string_view::npos)) {
    return refuse(shown + " names no host, or a malformed one");
  }
  url.host = std::string(host_port);
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return refuse(shown + ": port \"" + std::string(port) + "\" is not a number from 1 to 65535");
    }
    url.port = value;
  }

  while (path.ends_with("/")) path.remove_suffix(1);
  if (!path.empty()) {
    if (path.find(';') != std::string_view::npos) {
      return refuse(shown + " names more than a mailbox (\";\"): give just imaps://user@host/MAILBOX");
    }
    const std::optional<std::string> mailbox = percent_decode(path);
    if (!mailbox || mailbox->empty() || mailbox->find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return refuse(shown + ": the mailbox name is malformed");
    }
    url.mailbox = *mailbox;
  }
  return ImapUrlParse{std::move(url), {}};
}

}  // namespace postern::combine
