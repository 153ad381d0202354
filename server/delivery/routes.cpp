#include "server/delivery/routes.hpp"

#include <algorithm>

namespace postern::delivery {
namespace {

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

bool matches(const Route& route, std::string_view sender) {
  if (!route.sender.empty()) return equals_ignoring_case(route.sender, sender);
  const auto at = sender.rfind('@');
  return at != std::string_view::npos &&
         equals_ignoring_case(route.sender_domain, sender.substr(at + 1));
}

}  // namespace

const Upstream* find_upstream(const DeliveryConfig& config, std::string_view name) {
  const auto it = std::find_if(config.upstreams.begin(), config.upstreams.end(),
                               [&](const Upstream& u) { return u.name == name; });
  return it == config.upstreams.end() ? nullptr : &*it;
}

const Upstream* select_upstream(const DeliveryConfig& config, std::string_view envelope_sender) {
  if (config.upstreams.empty()) return nullptr;
  if (!envelope_sender.empty()) {
    for (const Route& route : config.routes) {
      if (matches(route, envelope_sender)) return find_upstream(config, route.upstream);
    }
  }
  return find_upstream(config, config.default_upstream);
}

}  // namespace postern::delivery
