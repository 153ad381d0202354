// See router.hpp.
#include "server/admin/router.hpp"

#include "server/admin/api_error.hpp"

#include <optional>

namespace postern::admin {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.empty() || path.front() != '/') return segments;
  path.remove_prefix(1);
  for (;;) {
    const std::size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return segments;
    path.remove_prefix(slash + 1);
  }
}

bool is_parameter(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string decoded_or_refused(std::string_view text) {
  auto decoded = percent_decode(text);
  if (!decoded) throw ApiError(400, "bad_request", "malformed percent-encoding in the request target");
  return std::move(*decoded);
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_digit(text[i + 1]);
    const int low = hex_digit(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> pairs;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    std::string pair{query.substr(0, amp)};
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    for (char& c : pair) {
      if (c == '+') c = ' ';
    }
    const std::size_t eq = pair.find('=');
    const std::string key = decoded_or_refused(std::string_view(pair).substr(0, eq));
    pairs[key] = eq == std::string::npos ? "" : decoded_or_refused(std::string_view(pair).substr(eq + 1));
  }
  return pairs;
}

void Router::add(std::string method, std::string_view pattern, Role role, Handler handler) {
  Route route{std::move(method), {}, role, handler};
  for (const std::string_view segment : split_path(pattern)) route.segments.emplace_back(segment);
  routes_.push_back(std::move(route));
}

RouteMatch Router::match(std::string_view method, std::string_view path) const {
  const auto segments = split_path(path);
  RouteMatch result;
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool matches = true;
    for (std::size_t i = 0; i < segments.size() && matches; ++i) {
      const std::string& expected = route.segments[i];
      if (is_parameter(expected)) {
        if (segments[i].empty()) matches = false;
        else params[expected.substr(1, expected.size() - 2)] = decoded_or_refused(segments[i]);
      } else {
        matches = expected == segments[i];
      }
    }
    if (!matches) continue;
    if (route.method == method) {
      result.route = &route;
      result.params = std::move(params);
      result.allow.clear();
      return result;
    }
    if (result.allow.find(route.method) == std::string::npos) {
      result.allow += (result.allow.empty() ? "" : ", ") + route.method;
    }
  }
  return result;
}

}  // namespace postern::admin
