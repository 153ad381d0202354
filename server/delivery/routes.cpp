#include "server/delivery/routes.hpp"

#include <algorithm>

#include "postern/schema/sender_rule.hpp"

namespace postern::delivery {

const Upstream* find_upstream(const DeliveryConfig& config, std::string_view name) {
  const auto it = std::find_if(config.upstreams.begin(), config.upstreams.end(),
                               [&](const Upstream& u) { return u.name == name; });
  return it == config.upstreams.end() ? nullptr : &*it;
}

const Route* matching_route(const DeliveryConfig& config, std::string_view envelope_sender,
                            std::string_view recipient) {
  const std::string_view delimiter = config.subaddress_delimiter;
  for (const Route& route : config.routes) {
    const bool matches =
        route.recipient_domain.empty()
            ? !envelope_sender.empty() &&
                  schema::address_matches(envelope_sender, route.sender, route.sender_domain, delimiter)
            : schema::address_matches(recipient, "", route.recipient_domain, delimiter);
    if (matches) return &route;
  }
  return nullptr;
}

const Upstream* select_upstream(const DeliveryConfig& config, std::string_view envelope_sender,
                                std::string_view recipient) {
  if (config.upstreams.empty()) return nullptr;
  const Route* route = matching_route(config, envelope_sender, recipient);
  return find_upstream(config, route ? route->upstreams.front() : config.default_upstream);
}

}  // namespace postern::delivery
