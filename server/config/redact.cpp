// Hiding passwords in the two forms libpq accepts for a connection string. When the text is
// malformed, more is hidden rather than less: this output goes to logs.
#include <algorithm>
#include <string>
#include <string_view>

#include "server/config/config.hpp"

namespace postern::config {
namespace {

constexpr std::string_view kHidden = "***";

bool is_secret_keyword(std::string_view keyword) {
  return keyword == "password" || keyword == "sslpassword";
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// postgresql://user:password@host:port/db?param=value&...
std::string redact_uri(std::string url, std::size_t authority) {
  // The last '@' ends the user info, so that a password with a raw '@' or '/' cannot leak.
  const std::size_t at = url.rfind('@');
  std::size_t rest = authority;
  if (at != std::string::npos && at >= authority) {
    const std::size_t colon = url.find(':', authority);
    if (colon < at) url.replace(colon + 1, at - colon - 1, kHidden);
    rest = url.rfind('@') + 1;
  }
  const std::size_t query = url.find('?', rest);
  if (query == std::string::npos) return url;
  std::string out = url.substr(0, query + 1);
  std::size_t start = query + 1;
  while (start <= url.size()) {
    const std::size_t end = std::min(url.find('&', start), url.size());
    const std::string_view param = std::string_view(url).substr(start, end - start);
    const std::size_t equals = param.find('=');
    if (equals != std::string_view::npos && is_secret_keyword(param.substr(0, equals))) {
      out.append(param.substr(0, equals + 1)).append(kHidden);
    } else {
      out.append(param);
    }
    if (end < url.size()) out += '&';
    start = end + 1;
  }
  return out;
}

// host=db user=u password='it''s' dbname=x: libpq's keyword/value form, where a value is
// either a single-quoted string or runs to the next space, and a backslash escapes anything.
std::string redact_keywords(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (is_space(text[i])) {
      out += text[i++];
      continue;
    }
    const std::size_t keyword_start = i;
    while (i < text.size() && !is_space(text[i]) && text[i] != '=') ++i;
    const std::string_view keyword = text.substr(keyword_start, i - keyword_start);
    out.append(keyword);
    while (i < text.size() && is_space(text[i])) out += text[i++];
    if (i == text.size() || text[i] != '=') {  // not a conninfo string: show nothing more
      if (i < text.size()) out.append(kHidden);
      break;
    }
    out += text[i++];
    while (i < text.size() && is_space(text[i])) out += text[i++];
    const std::size_t value_start = i;
    const bool quoted = i < text.size() && text[i] == '\'';
    if (quoted) ++i;
    while (i < text.size() && (quoted ? text[i] != '\'' : !is_space(text[i]))) {
      i += (text[i] == '\\' && i + 1 < text.size()) ? 2 : 1;
    }
    if (quoted && i < text.size()) ++i;  // the closing quote
    out.append(is_secret_keyword(keyword) ? kHidden : text.substr(value_start, i - value_start));
  }
  return out;
}

}  // namespace

std::string redact_database_url(const std::string& url) {
  for (const std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (url.starts_with(scheme)) return redact_uri(url, scheme.size());
  }
  return redact_keywords(url);
}

}  // namespace postern::config
